package stripe_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gatewaytest"
	"github.com/fulfill-dev/fulfill/internal/gateway/stripe"
	"github.com/fulfill-dev/fulfill/internal/gateway/stripe/stripefake"
	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

const (
	secretKey  = "sk_test_fulfill_123"
	whsecOld   = "whsec_old_secret"
	whsecNew   = "whsec_new_secret"
	whsecWrong = "whsec_someone_else"
)

var testNow = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func newGateway(t testing.TB, base string) *stripe.Gateway {
	t.Helper()
	g, err := stripe.New(stripe.Config{
		SecretKey: secretKey, APIBase: base, WebhookSecrets: []string{whsecOld, whsecNew},
		Clock: fulfill.ClockFunc(func() time.Time { return testNow }),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// eventJSON renders a Stripe event the way Stripe sends it.
func eventJSON(typ, id string, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripego.APIVersion, "created": testNow.Add(-time.Second).Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ,
		"request": map[string]any{"id": "req_abc", "idempotency_key": "idem-1"},
		"data":    map[string]any{"object": object},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func intentObject(ev gatewaytest.Event, status string) map[string]any {
	return map[string]any{
		"id": ev.IntentID, "object": "payment_intent", "amount": ev.Amount.Amount, "amount_received": ev.Amount.Amount,
		"currency": strings.ToLower(ev.Amount.Currency), "status": status, "capture_method": "automatic",
		"metadata": map[string]string{"order_id": ev.OrderID}, "created": testNow.Add(-time.Minute).Unix(),
	}
}

func renderEvent(ev gatewaytest.Event) []byte {
	switch ev.Kind {
	case gatewaytest.KindSucceeded:
		return eventJSON("payment_intent.succeeded", ev.ID, intentObject(ev, "succeeded"))
	case gatewaytest.KindFailed:
		o := intentObject(ev, "requires_payment_method")
		o["amount_received"] = 0
		o["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}
		return eventJSON("payment_intent.payment_failed", ev.ID, o)
	case gatewaytest.KindRefunded:
		return eventJSON("charge.refunded", ev.ID, map[string]any{
			"id": "ch_" + ev.IntentID, "object": "charge", "amount": ev.Amount.Amount, "amount_refunded": ev.Amount.Amount,
			"currency": strings.ToLower(ev.Amount.Currency), "payment_intent": ev.IntentID, "refunded": true,
			"metadata": map[string]string{"order_id": ev.OrderID},
		})
	}
	panic("unknown kind " + ev.Kind)
}

func sign(body []byte, secret string, at time.Time) http.Header {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	h := http.Header{}
	h.Set("Stripe-Signature", sp.Header)
	h.Set("Content-Type", "application/json")
	return h
}

func harness(t *testing.T) gatewaytest.Harness {
	fake := stripefake.New(t, secretKey)
	return gatewaytest.Harness{
		Gateway:         newGateway(t, fake.URL),
		SignatureHeader: stripe.SignatureHeader,
		SignedEvent: func(t testing.TB, ev gatewaytest.Event, opt gatewaytest.SignOptions) (http.Header, []byte) {
			body := opt.RawBody
			if body == nil {
				body = renderEvent(ev)
			}
			secret := whsecNew
			if opt.WrongSecret {
				secret = whsecWrong
			}
			return sign(body, secret, testNow.Add(-opt.Age)), body
		},
		Pay: func(t testing.TB, id string) {
			if err := fake.Pay(id); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	gatewaytest.Run(t, harness(t))
}

func TestWebhookRotationAcceptsEitherSecret(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	for _, secret := range []string{whsecOld, whsecNew} {
		body := eventJSON("payment_intent.succeeded", "evt_rot_"+secret, map[string]any{
			"id": "pi_1", "object": "payment_intent", "amount": 349900, "currency": "inr",
			"metadata": map[string]string{"order_id": "ord_1"},
		})
		ev, err := g.ParseWebhook(t.Context(), sign(body, secret, testNow), body)
		if err != nil || ev.EventID != "evt_rot_"+secret {
			t.Fatalf("secret %s: %+v, %v", secret, ev, err)
		}
	}
}

func TestWebhookAnyV1Accepted(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	body := eventJSON("charge.dispute.created", "evt_disp", map[string]any{
		"id": "dp_1", "object": "dispute", "amount": 1000, "currency": "usd", "payment_intent": "pi_9", "reason": "fraudulent",
	})
	good := sign(body, whsecOld, testNow).Get("Stripe-Signature")
	bad := sign(body, whsecWrong, testNow).Get("Stripe-Signature")
	_, goodV1, _ := strings.Cut(good, ",")
	h := http.Header{}
	h.Set("Stripe-Signature", bad+","+goodV1) // t=…,v1=<wrong>,v1=<right>
	ev, err := g.ParseWebhook(t.Context(), h, body)
	if err != nil {
		t.Fatal(err)
	}
	want := fulfill.PaymentEvent{Provider: "stripe", EventID: "evt_disp", Type: fulfill.PaymentDisputed, RawType: "charge.dispute.created",
		IntentID: "pi_9", Amount: fulfill.Money{Amount: 1000, Currency: "USD"}, OccurredAt: testNow.Add(-time.Second)}
	if *ev != want {
		t.Fatalf("event = %+v, want %+v", *ev, want)
	}
}

func TestWebhookManualAuthorizationIsSucceeded(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	body := eventJSON("payment_intent.amount_capturable_updated", "evt_auth", map[string]any{
		"id": "pi_m", "object": "payment_intent", "amount": 5000, "amount_capturable": 5000, "currency": "inr",
		"status": "requires_capture", "capture_method": "manual", "metadata": map[string]string{"order_id": "ord_m"},
	})
	ev, err := g.ParseWebhook(t.Context(), sign(body, whsecNew, testNow), body)
	if err != nil || ev.Type != fulfill.PaymentSucceeded || ev.OrderID != "ord_m" || ev.Amount.Amount != 5000 {
		t.Fatalf("event = %+v, %v", ev, err)
	}
}

func TestWebhookOtherAPIVersion(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_v","object":"event","api_version":"2020-08-27","created":1,"type":"payment_intent.canceled","data":{"object":{"id":"pi_v","amount":10,"currency":"inr","metadata":{}}}}`)
	strict := newGateway(t, "http://127.0.0.1:1")
	_, err := strict.ParseWebhook(t.Context(), sign(body, whsecNew, testNow), body)
	if !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Fatalf("strict: error = %v, want invalid", err)
	}
	lax, err := stripe.New(stripe.Config{SecretKey: secretKey, WebhookSecrets: []string{whsecNew}, IgnoreAPIVersionMismatch: true,
		Clock: fulfill.ClockFunc(func() time.Time { return testNow })})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := lax.ParseWebhook(t.Context(), sign(body, whsecNew, testNow), body)
	if err != nil || ev.Type != fulfill.PaymentCanceled {
		t.Fatalf("lax: %+v, %v", ev, err)
	}
}

func TestWebhookFutureTimestampRejected(t *testing.T) {
	t.Parallel()
	g := newGateway(t, "http://127.0.0.1:1")
	body := eventJSON("payment_intent.succeeded", "evt_f", map[string]any{"id": "pi_f", "amount": 1, "currency": "inr"})
	_, err := g.ParseWebhook(t.Context(), sign(body, whsecNew, testNow.Add(10*time.Minute)), body)
	if !fulfill.IsCode(err, fulfill.EUnauthenticated) {
		t.Fatalf("error = %v, want unauthenticated", err)
	}
}

func TestCreateIntentSendsStripeShape(t *testing.T) {
	t.Parallel()
	fake := stripefake.New(t, secretKey)
	g := newGateway(t, fake.URL)
	req := fulfill.IntentRequest{OrderID: "ord_shape", Amount: fulfill.Money{Amount: 349900, Currency: "INR"},
		Capture: fulfill.CaptureManual, IdempotencyKey: "checkout-1"}
	in, err := g.CreateIntent(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := fake.Intent(in.ID)
	if !ok || got.Currency != "inr" || got.CaptureMethod != "manual" || got.Metadata["order_id"] != "ord_shape" || got.Amount != 349900 {
		t.Fatalf("fake saw %+v", got)
	}
	again, err := g.CreateIntent(t.Context(), req)
	if err != nil || again.ID != in.ID {
		t.Fatalf("retried create = %+v, %v; want the same intent (Idempotency-Key)", again, err)
	}
}

func TestErrorsAreMappedWithoutSecrets(t *testing.T) {
	t.Parallel()
	fake := stripefake.New(t, "sk_test_other")
	g := newGateway(t, fake.URL)
	req := fulfill.IntentRequest{OrderID: "o", Amount: fulfill.Money{Amount: 1, Currency: "INR"}}
	_, err := g.CreateIntent(t.Context(), req)
	checkErr(t, err, fulfill.EInternal)

	down := stripefake.New(t, secretKey)
	down.Close()
	_, err = newGateway(t, down.URL).CreateIntent(t.Context(), req)
	checkErr(t, err, fulfill.EUnavailable)

	_, err = g.CreateIntent(t.Context(), fulfill.IntentRequest{OrderID: "o", Amount: fulfill.Money{Amount: 1, Currency: "inr"}})
	checkErr(t, err, fulfill.EInvalid)
}

func checkErr(t *testing.T, err error, code fulfill.ErrorCode) {
	t.Helper()
	var fe *fulfill.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if strings.Contains(fe.Message, secretKey) || strings.Contains(err.Error(), secretKey) {
		t.Fatalf("error leaks the secret key: %v", err)
	}
}

func TestNewRequiresSecrets(t *testing.T) {
	t.Parallel()
	for _, cfg := range []stripe.Config{{WebhookSecrets: []string{"w"}}, {SecretKey: "k"}, {SecretKey: "k", WebhookSecrets: []string{""}}} {
		if _, err := stripe.New(cfg); !fulfill.IsCode(err, fulfill.EInvalid) {
			t.Errorf("New(%+v) error = %v, want invalid", cfg, err)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	ev := gatewaytest.Event{ID: "evt_1", OrderID: "ord_1", IntentID: "pi_1", Amount: fulfill.Money{Amount: 349900, Currency: "INR"}}
	for _, k := range []gatewaytest.EventKind{gatewaytest.KindSucceeded, gatewaytest.KindFailed, gatewaytest.KindRefunded} {
		ev.Kind = k
		f.Add(renderEvent(ev), true)
	}
	f.Add([]byte(`{"id":"evt_x","object":"event","api_version":"`+stripego.APIVersion+`","type":"charge.dispute.created","data":{"object":"dp_1"}}`), true)
	f.Add([]byte(`{"object":"event","data":null}`), true)
	f.Add([]byte(`not json`), false)
	g := newGateway(f, "http://127.0.0.1:1")
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		h := sign(body, whsecNew, testNow)
		if !signed {
			h.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%x", testNow.Unix(), body))
		}
		ev, err := g.ParseWebhook(t.Context(), h, body)
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
