package razorpay_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gatewaytest"
	"github.com/fulfill-dev/fulfill/internal/gateway/razorpay"
	"github.com/fulfill-dev/fulfill/internal/gateway/razorpay/razorpayfake"
)

const (
	keyID     = "rzp_test_abc"
	keySecret = "rzp_secret_xyz"
	whOld     = "rzp_wh_old"
	whNew     = "rzp_wh_new"
	whWrong   = "rzp_wh_wrong"
)

var created = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC).Unix()

func newGateway(t testing.TB, base string) *razorpay.Gateway {
	t.Helper()
	g, err := razorpay.New(razorpay.Config{KeyID: keyID, KeySecret: keySecret, APIBase: base, WebhookSecrets: []string{whOld, whNew}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func paymentEntity(ev gatewaytest.Event, status string) map[string]any {
	return map[string]any{
		"id": "pay_" + ev.IntentID, "entity": "payment", "amount": ev.Amount.Amount, "currency": ev.Amount.Currency,
		"status": status, "order_id": ev.IntentID, "method": "upi", "captured": status == "captured",
		"notes": map[string]string{"order_id": ev.OrderID}, "created_at": created - 5, "amount_refunded": 0,
	}
}

// renderEvent builds a Razorpay webhook body the way Razorpay sends it.
func renderEvent(ev gatewaytest.Event) []byte {
	payload := map[string]any{}
	var name string
	switch ev.Kind {
	case gatewaytest.KindSucceeded:
		name = "payment.captured"
		payload["payment"] = map[string]any{"entity": paymentEntity(ev, "captured")}
	case gatewaytest.KindFailed:
		name = "payment.failed"
		p := paymentEntity(ev, "failed")
		p["error_code"], p["error_description"] = "BAD_REQUEST_ERROR", "Payment failed"
		payload["payment"] = map[string]any{"entity": p}
	case gatewaytest.KindRefunded:
		name = "refund.processed"
		payload["refund"] = map[string]any{"entity": map[string]any{
			"id": "rfnd_" + ev.IntentID, "entity": "refund", "amount": ev.Amount.Amount, "currency": ev.Amount.Currency,
			"payment_id": "pay_" + ev.IntentID, "notes": []any{}, "status": "processed", "created_at": created,
		}}
		payload["payment"] = map[string]any{"entity": paymentEntity(ev, "refunded")}
	}
	b, err := json.Marshal(map[string]any{
		"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": name,
		"contains": []string{"payment"}, "payload": payload, "created_at": created,
	})
	if err != nil {
		panic(err)
	}
	return b
}

func sign(body []byte, secret, eventID string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set(razorpay.SignatureHeader, hex.EncodeToString(mac.Sum(nil)))
	h.Set(razorpay.EventIDHeader, eventID)
	h.Set("Content-Type", "application/json")
	return h
}

func TestContract(t *testing.T) {
	t.Parallel()
	fake := razorpayfake.New(t, keyID, keySecret)
	gatewaytest.Run(t, gatewaytest.Harness{
		Gateway:           newGateway(t, fake.URL),
		SignatureHeader:   razorpay.SignatureHeader,
		NoSignedTimestamp: true,
		SignedEvent: func(t testing.TB, ev gatewaytest.Event, opt gatewaytest.SignOptions) (http.Header, []byte) {
			body := opt.RawBody
			if body == nil {
				body = renderEvent(ev)
			}
			secret := whNew
			if opt.WrongSecret {
				secret = whWrong
			}
			return sign(body, secret, ev.ID), body
		},
		Pay: func(t testing.TB, id string) {
			if err := fake.Pay(id); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestWebhookOldSecretAndOrderPaid(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	body := []byte(`{"entity":"event","account_id":"acc_1","event":"order.paid","contains":["payment","order"],` +
		`"payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":349900,"currency":"INR","status":"captured","order_id":"order_1","notes":[]}},` +
		`"order":{"entity":{"id":"order_1","entity":"order","amount":349900,"amount_paid":349900,"currency":"INR","status":"paid","notes":{"order_id":"ord_9"}}}},"created_at":1793700000}`)
	ev, err := g.ParseWebhook(t.Context(), sign(body, whOld, "evt_paid"), body)
	if err != nil {
		t.Fatal(err)
	}
	want := fulfill.PaymentEvent{Provider: "razorpay", EventID: "evt_paid", Type: fulfill.PaymentSucceeded, RawType: "order.paid",
		IntentID: "order_1", OrderID: "ord_9", Amount: fulfill.Money{Amount: 349900, Currency: "INR"}, OccurredAt: time.Unix(1793700000, 0).UTC()}
	if *ev != want {
		t.Fatalf("event = %+v\nwant %+v", *ev, want)
	}
}

// TestWebhookAuthorized: payment.authorized (sent in both capture modes)
// maps to PaymentAuthorized, which the payment stage takes as paid only
// for a manual-capture order.
func TestWebhookAuthorized(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	body := []byte(`{"entity":"event","account_id":"acc_1","event":"payment.authorized","contains":["payment"],` +
		`"payload":{"payment":{"entity":{"id":"pay_2","entity":"payment","amount":349900,"currency":"INR","status":"authorized",` +
		`"order_id":"order_2","captured":false,"notes":{"order_id":"ord_7"},"created_at":1793699990}}},"created_at":1793700000}`)
	ev, err := g.ParseWebhook(t.Context(), sign(body, whNew, "evt_auth"), body)
	if err != nil {
		t.Fatal(err)
	}
	want := fulfill.PaymentEvent{Provider: "razorpay", EventID: "evt_auth", Type: fulfill.PaymentAuthorized, RawType: "payment.authorized",
		IntentID: "order_2", OrderID: "ord_7", Amount: fulfill.Money{Amount: 349900, Currency: "INR"}, OccurredAt: time.Unix(1793700000, 0).UTC()}
	if *ev != want {
		t.Fatalf("event = %+v\nwant %+v", *ev, want)
	}
}

func TestWebhookNeedsEventID(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	body := renderEvent(gatewaytest.Event{Kind: gatewaytest.KindSucceeded, OrderID: "o", IntentID: "order_x", Amount: fulfill.Money{Amount: 1, Currency: "INR"}})
	_, err := g.ParseWebhook(t.Context(), sign(body, whNew, ""), body)
	if !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Fatalf("error = %v, want invalid", err)
	}
}

func TestCreateIntentSendsRazorpayShape(t *testing.T) {
	t.Parallel()
	fake := razorpayfake.New(t, keyID, keySecret)
	g := newGateway(t, fake.URL)
	in, err := g.CreateIntent(t.Context(), fulfill.IntentRequest{OrderID: "ord_rzp", Amount: fulfill.Money{Amount: 349900, Currency: "INR"}, Capture: fulfill.CaptureManual})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := fake.Order(in.ID)
	if !ok || o.Notes["order_id"] != "ord_rzp" || o.Capture != "manual" || o.Amount != 349900 || o.Receipt != "ord_rzp" {
		t.Fatalf("fake saw %+v", o)
	}
}

func TestErrorsAreMappedWithoutSecrets(t *testing.T) {
	t.Parallel()
	fake := razorpayfake.New(t, keyID, "another")
	req := fulfill.IntentRequest{OrderID: "o", Amount: fulfill.Money{Amount: 100, Currency: "INR"}}
	_, err := newGateway(t, fake.URL).CreateIntent(t.Context(), req)
	checkErr(t, err, fulfill.EInternal)
	fake.Close()
	_, err = newGateway(t, fake.URL).CreateIntent(t.Context(), req)
	checkErr(t, err, fulfill.EUnavailable)
}

func checkErr(t *testing.T, err error, code fulfill.ErrorCode) {
	t.Helper()
	var fe *fulfill.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if strings.Contains(err.Error(), keySecret) {
		t.Fatalf("error leaks the key secret: %v", err)
	}
}

func FuzzParseWebhook(f *testing.F) {
	ev := gatewaytest.Event{OrderID: "ord_1", IntentID: "order_1", Amount: fulfill.Money{Amount: 349900, Currency: "INR"}}
	for _, k := range []gatewaytest.EventKind{gatewaytest.KindSucceeded, gatewaytest.KindFailed, gatewaytest.KindRefunded} {
		ev.Kind = k
		f.Add(renderEvent(ev), true)
	}
	f.Add([]byte(`{"entity":"event","event":"order.paid","payload":{"order":{"entity":{"notes":{"order_id":1}}}}}`), true)
	f.Add([]byte(`{"entity":"event","event":"payment.captured","payload":{"payment":null},"created_at":-1}`), true)
	f.Add([]byte(`[]`), false)
	g := newGateway(f, "http://127.0.0.1:1")
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		h := sign(body, whNew, "evt_fuzz")
		if !signed {
			h.Set(razorpay.SignatureHeader, hex.EncodeToString(body))
		}
		ev, err := g.ParseWebhook(t.Context(), h, body)
		if err == nil {
			if ev == nil || ev.EventID != "evt_fuzz" {
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
