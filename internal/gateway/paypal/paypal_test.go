package paypal_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gatewaytest"
	"github.com/fulfill-dev/fulfill/internal/gateway/paypal"
	"github.com/fulfill-dev/fulfill/internal/gateway/paypal/paypalfake"
)

const (
	clientID  = "AbcClientID"
	secret    = "EFGclientSecret"
	webhookID = "8PT597110X687430LKGECATA"
	certPath  = "/v1/notifications/certs/CERT-360caa42-fca2a594-7c7b6d4f"
)

var testNow = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

// signer signs webhooks as PayPal does (paypalfake.Signer).
type signer = paypalfake.Signer

func newSigner(t testing.TB) *signer { return paypalfake.NewSigner(t, testNow) }

var (
	signersOnce sync.Once
	good, wrong *signer
)

// signers makes the two 2048-bit keys once per test binary (key generation
// is slow under -race and in the fuzzer).
func signers(t testing.TB) (*signer, *signer) {
	signersOnce.Do(func() { good, wrong = newSigner(t), newSigner(t) })
	return good, wrong
}

type env struct {
	fake  *paypalfake.Server
	clock *clock
	gw    *paypal.Gateway
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newEnv(t testing.TB, online bool) *env {
	t.Helper()
	g, _ := signers(t)
	return newEnvWith(t, online, g, testNow)
}

func newEnvWith(t testing.TB, online bool, g *signer, now time.Time) *env {
	t.Helper()
	fake := paypalfake.New(t, clientID, secret)
	fake.SetWebhookKey(g.CertPEM, &g.Key.PublicKey, webhookID)
	c := &clock{now: now}
	gw, err := paypal.New(paypal.Config{
		ClientID: clientID, ClientSecret: secret, APIBase: fake.URL, WebhookID: webhookID,
		CertHosts: []string{"127.0.0.1"}, VerifyOnline: online, HTTPClient: fake.Client(), Clock: c,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{fake: fake, clock: c, gw: gw}
}

func money(m fulfill.Money) map[string]string {
	v := strconv.FormatInt(m.Amount/100, 10) + "." + strconv.FormatInt(m.Amount%100+100, 10)[1:]
	return map[string]string{"currency_code": m.Currency, "value": v}
}

// renderEvent builds a PayPal webhook body the way PayPal sends it.
func renderEvent(ev gatewaytest.Event) []byte {
	typ, res := "", map[string]any{
		"id": "CAP" + ev.IntentID, "amount": money(ev.Amount), "custom_id": ev.OrderID,
		"supplementary_data": map[string]any{"related_ids": map[string]string{"order_id": ev.IntentID}},
		"create_time":        testNow.Add(-2 * time.Second).Format(time.RFC3339),
	}
	switch ev.Kind {
	case gatewaytest.KindSucceeded:
		typ, res["status"], res["final_capture"] = "PAYMENT.CAPTURE.COMPLETED", "COMPLETED", true
	case gatewaytest.KindFailed:
		typ, res["status"] = "PAYMENT.CAPTURE.DENIED", "DECLINED"
	case gatewaytest.KindRefunded:
		typ, res["status"] = "PAYMENT.CAPTURE.REFUNDED", "COMPLETED"
		res["note_to_payer"] = "Defective product"
	}
	b, err := json.Marshal(map[string]any{
		"id": ev.ID, "event_version": "1.0", "create_time": testNow.Add(-time.Second).Format(time.RFC3339),
		"resource_type": "capture", "resource_version": "2.0", "event_type": typ, "summary": "Payment " + string(ev.Kind),
		"resource": res,
	})
	if err != nil {
		panic(err)
	}
	return b
}

func harness(t *testing.T, online bool) gatewaytest.Harness {
	e := newEnv(t, online)
	return gatewaytest.Harness{
		Gateway:         e.gw,
		SignatureHeader: paypal.HeaderTransmissionSig,
		SignedEvent: func(t testing.TB, ev gatewaytest.Event, opt gatewaytest.SignOptions) (http.Header, []byte) {
			body := opt.RawBody
			if body == nil {
				body = renderEvent(ev)
			}
			good, wrong := signers(t)
			s := good
			if opt.WrongSecret {
				s = wrong
			}
			return s.Sign(t, body, e.fake.URL+certPath, webhookID, testNow.Add(-opt.Age)), body
		},
		Pay: func(t testing.TB, id string) {
			if err := e.fake.Pay(id); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	gatewaytest.Run(t, harness(t, false))
}

func TestContractOnlineVerification(t *testing.T) {
	t.Parallel()
	gatewaytest.Run(t, harness(t, true))
}

func succeeded() gatewaytest.Event {
	return gatewaytest.Event{Kind: gatewaytest.KindSucceeded, ID: "WH-1", OrderID: "ord_1", IntentID: "5O190127TN364715T",
		Amount: fulfill.Money{Amount: 349900, Currency: "INR"}}
}

func TestCertFetchedOnceAndCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	g, _ := signers(t)
	for i := range 5 {
		ev := succeeded()
		ev.ID = "WH-" + strconv.Itoa(i)
		body := renderEvent(ev)
		got, err := e.gw.ParseWebhook(t.Context(), g.Sign(t, body, e.fake.URL+certPath, webhookID, testNow), body)
		if err != nil || got.EventID != ev.ID || got.Amount.Amount != 349900 || got.IntentID != ev.IntentID {
			t.Fatalf("webhook %d: %+v, %v", i, got, err)
		}
	}
	if n := e.fake.CertFetches.Load(); n != 1 {
		t.Fatalf("certificate fetched %d times, want 1", n)
	}
}

func TestCertURLOffAllowListNotFetched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	g, _ := signers(t)
	body := renderEvent(succeeded())
	for _, u := range []string{
		"https://evil.example.com" + certPath,
		"https://localhost" + certPath,
		"http://127.0.0.1" + certPath, // not https
		"https://127.0.0.1.evil.example" + certPath,
	} {
		_, err := e.gw.ParseWebhook(t.Context(), g.Sign(t, body, u, webhookID, testNow), body)
		if !fulfill.IsCode(err, fulfill.EUnauthenticated) {
			t.Errorf("cert URL %s: error = %v, want unauthenticated", u, err)
		}
	}
	if n := e.fake.CertFetches.Load(); n != 0 {
		t.Fatalf("certificate fetched %d times, want 0", n)
	}
}

func TestDefaultAllowListRejectsTestHost(t *testing.T) {
	t.Parallel()
	fake := paypalfake.New(t, clientID, secret)
	gw, err := paypal.New(paypal.Config{ClientID: clientID, ClientSecret: secret, APIBase: fake.URL, WebhookID: webhookID,
		HTTPClient: fake.Client(), Clock: fulfill.ClockFunc(func() time.Time { return testNow })})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := signers(t)
	body := renderEvent(succeeded())
	_, err = gw.ParseWebhook(t.Context(), g.Sign(t, body, fake.URL+certPath, webhookID, testNow), body)
	if !fulfill.IsCode(err, fulfill.EUnauthenticated) || fake.CertFetches.Load() != 0 {
		t.Fatalf("error = %v, fetches = %d; want unauthenticated without a fetch", err, fake.CertFetches.Load())
	}
}

func TestTokenCachedUntilExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	req := fulfill.IntentRequest{OrderID: "ord_t", Amount: fulfill.Money{Amount: 100, Currency: "USD"}}
	for range 3 {
		if _, err := e.gw.CreateIntent(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.TokenFetches.Load(); n != 1 {
		t.Fatalf("token fetched %d times, want 1", n)
	}
	e.clock.add(9 * time.Hour) // expires_in is 32400 s
	if _, err := e.gw.CreateIntent(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.TokenFetches.Load(); n != 2 {
		t.Fatalf("token fetched %d times after expiry, want 2", n)
	}
	e.fake.ExpireTokens()
	if _, err := e.gw.CreateIntent(t.Context(), req); !fulfill.IsCode(err, fulfill.EInternal) {
		t.Fatalf("refused token: error = %v, want internal", err)
	}
	if _, err := e.gw.CreateIntent(t.Context(), req); err != nil {
		t.Fatalf("after a refused token the next call fetches a new one: %v", err)
	}
}

func TestOrderApprovedAndAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	g, _ := signers(t)
	body := []byte(`{"id":"WH-A","create_time":"2026-11-03T09:59:58Z","resource_type":"checkout-order","event_type":"CHECKOUT.ORDER.APPROVED",` +
		`"resource":{"id":"5O190127TN364715T","intent":"CAPTURE","status":"APPROVED","purchase_units":[{"reference_id":"default","custom_id":"ord_7","amount":{"currency_code":"JPY","value":"1500"}}]}}`)
	ev, err := e.gw.ParseWebhook(t.Context(), g.Sign(t, body, e.fake.URL+certPath, webhookID, testNow), body)
	if err != nil {
		t.Fatal(err)
	}
	want := fulfill.PaymentEvent{Provider: "paypal", EventID: "WH-A", Type: fulfill.PaymentApproved, RawType: "CHECKOUT.ORDER.APPROVED",
		IntentID: "5O190127TN364715T", OrderID: "ord_7", Amount: fulfill.Money{Amount: 1500, Currency: "JPY"},
		OccurredAt: time.Date(2026, 11, 3, 9, 59, 58, 0, time.UTC)}
	if *ev != want {
		t.Fatalf("event = %+v\nwant %+v", *ev, want)
	}
}

func TestErrorsAreMappedWithoutSecrets(t *testing.T) {
	t.Parallel()
	fake := paypalfake.New(t, clientID, "wrong")
	gw, err := paypal.New(paypal.Config{ClientID: clientID, ClientSecret: secret, APIBase: fake.URL, WebhookID: webhookID, HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	req := fulfill.IntentRequest{OrderID: "o", Amount: fulfill.Money{Amount: 100, Currency: "USD"}}
	_, err = gw.CreateIntent(t.Context(), req)
	checkErr(t, err, fulfill.EInternal)
	fake.Close()
	_, err = gw.CreateIntent(t.Context(), req)
	checkErr(t, err, fulfill.EUnavailable)
}

func checkErr(t *testing.T, err error, code fulfill.ErrorCode) {
	t.Helper()
	var fe *fulfill.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks the client secret: %v", err)
	}
}

// fixedSigner loads a pre-made key and certificate (valid until 2126) from
// testdata: fuzz workers run with coverage instrumentation, under which
// generating an RSA key takes far too long.
func fixedSigner(t testing.TB) *signer {
	t.Helper()
	keyPEM, err := os.ReadFile("testdata/fuzz_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile("testdata/fuzz_cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{Key: key.(*rsa.PrivateKey), CertPEM: certPEM}
}

func FuzzParseWebhook(f *testing.F) {
	for _, k := range []gatewaytest.EventKind{gatewaytest.KindSucceeded, gatewaytest.KindFailed, gatewaytest.KindRefunded} {
		ev := succeeded()
		ev.Kind = k
		f.Add(renderEvent(ev), true)
	}
	f.Add([]byte(`{"id":"WH-A","create_time":"2026-11-03T09:59:58Z","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"X","purchase_units":[{"custom_id":"o","amount":{"currency_code":"USD","value":"1.999"}}]}}`), true)
	f.Add([]byte(`{"id":"WH-B","create_time":"yesterday","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":null}`), true)
	f.Add([]byte(`{}`), false)
	g := fixedSigner(f)
	now := time.Now().UTC()
	e := newEnvWith(f, false, g, now)
	certURL := e.fake.URL + certPath
	// Fetch and cache the certificate, then stop the fake: background
	// server and connection goroutines would add coverage noise that the
	// fuzzer keeps trying to minimize.
	warm := renderEvent(succeeded())
	if _, err := e.gw.ParseWebhook(f.Context(), g.Sign(f, warm, certURL, webhookID, now), warm); err != nil {
		f.Fatal(err)
	}
	e.fake.Client().CloseIdleConnections()
	e.fake.Close()
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		h := g.Sign(t, body, certURL, webhookID, now)
		if !signed {
			h.Set(paypal.HeaderTransmissionSig, base64.StdEncoding.EncodeToString(body))
		}
		ev, err := e.gw.ParseWebhook(t.Context(), h, body)
		if err == nil {
			if ev == nil || ev.EventID == "" {
				t.Fatalf("nil error but event %+v", ev)
			}
			return
		}
		var fe *fulfill.Error
		if !errors.As(err, &fe) || (fe.Code != fulfill.EInvalid && fe.Code != fulfill.EUnauthenticated) {
			t.Fatalf("error %v is not a 4xx-class *fulfill.Error", err)
		}
	})
}

// TestComplete: an approved order of intent CAPTURE is captured and one of
// intent AUTHORIZE authorized (its capture comes later, from Capture);
// completing again changes nothing; an order not yet approved can't be.
func TestComplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	for _, c := range []struct {
		capture fulfill.CaptureMode
		check   func(o paypalfake.Order) bool
	}{
		{fulfill.CaptureAutomatic, func(o paypalfake.Order) bool { return o.Capture != nil && o.Capture.Status == "COMPLETED" }},
		{fulfill.CaptureManual, func(o paypalfake.Order) bool { return o.Auth != nil && o.Capture == nil }},
	} {
		in, err := e.gw.CreateIntent(t.Context(), fulfill.IntentRequest{OrderID: "ord_" + string(c.capture),
			Amount: fulfill.Money{Amount: 349900, Currency: "INR"}, Capture: c.capture})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.gw.Complete(t.Context(), in.ID); !fulfill.IsCode(err, fulfill.EConflict) {
			t.Fatalf("%s: Complete before approval = %v, want conflict", c.capture, err)
		}
		if err := e.fake.Approve(in.ID); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := e.gw.Complete(t.Context(), in.ID); err != nil {
				t.Fatalf("%s: Complete = %v", c.capture, err)
			}
		}
		if o, _ := e.fake.Order(in.ID); !c.check(o) {
			t.Errorf("%s: order after Complete: %+v (auth %+v, capture %+v)", c.capture, o, o.Auth, o.Capture)
		}
	}
	in, _ := e.gw.CreateIntent(t.Context(), fulfill.IntentRequest{OrderID: "ord_m2", Amount: fulfill.Money{Amount: 100, Currency: "INR"}, Capture: fulfill.CaptureManual})
	_ = e.fake.Approve(in.ID)
	if err := e.gw.Complete(t.Context(), in.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Capture(t.Context(), in.ID, fulfill.Money{Amount: 100, Currency: "INR"}); err != nil {
		t.Fatalf("Capture after Complete authorized it: %v", err)
	}
}

func TestCaptureOfApprovedCaptureOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	in, err := e.gw.CreateIntent(t.Context(), fulfill.IntentRequest{OrderID: "ord_c", Amount: fulfill.Money{Amount: 349900, Currency: "INR"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.fake.Approve(in.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Capture(t.Context(), in.ID, fulfill.Money{Amount: 349900, Currency: "INR"}); err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if err := e.gw.Capture(t.Context(), in.ID, fulfill.Money{Amount: 349900, Currency: "INR"}); !fulfill.IsCode(err, fulfill.EConflict) {
		t.Fatalf("second Capture: %v, want conflict", err)
	}
	if _, err := e.gw.Refund(t.Context(), in.ID, fulfill.Money{Amount: 100, Currency: "INR"}, "x"); err != nil {
		t.Fatalf("Refund: %v", err)
	}
}
