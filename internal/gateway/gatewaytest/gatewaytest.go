// Package gatewaytest is the contract suite every fulfill.Gateway passes:
// the built-in sandbox and each real adapter (through a fake server that
// speaks the provider's wire format). Import it from _test.go files only.
package gatewaytest

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// EventKind is the kind of webhook a Harness builds.
type EventKind string

// Event kinds the suite asks for.
const (
	// KindSucceeded is the provider's "payment captured" event.
	KindSucceeded EventKind = "succeeded"
	// KindFailed is the provider's "payment declined" event.
	KindFailed EventKind = "failed"
	// KindRefunded is the provider's "money returned" event.
	KindRefunded EventKind = "refunded"
)

// Event describes the webhook the suite wants.
type Event struct {
	Kind EventKind
	// ID is the provider event id the webhook must carry (in its body or
	// in a header, as the provider does).
	ID      string
	OrderID string
	// IntentID is the provider's intent id, when the event names one.
	IntentID string
	Amount   fulfill.Money
}

// SignOptions bend the signature so that the suite can check it is refused.
type SignOptions struct {
	// WrongSecret signs with a secret (or key) the gateway does not know.
	WrongSecret bool
	// Age backdates the signed timestamp by this much, as seen by the
	// gateway's clock.
	Age time.Duration
	// RawBody, when not nil, is signed and sent instead of a rendered event.
	RawBody []byte
}

// Harness is how the suite drives one gateway.
type Harness struct {
	// Gateway is the implementation under test, wired to its fake.
	Gateway fulfill.Gateway
	// SignedEvent renders ev as the provider would and signs it the way the
	// provider does, with a timestamp fresh for the gateway's clock.
	SignedEvent func(t testing.TB, ev Event, opt SignOptions) (http.Header, []byte)
	// SignatureHeader is the header that carries the signature; the suite
	// deletes it to check that an unsigned webhook is refused.
	SignatureHeader string
	// NoSignedTimestamp is true for providers whose signature covers no
	// timestamp (Razorpay); the stale-timestamp check is then skipped.
	NoSignedTimestamp bool
	// Pay makes the shopper pay intentID: the fake authorizes it (manual
	// capture) or captures it (automatic capture).
	Pay func(t testing.TB, intentID string)
}

// Run runs the contract suite against h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"CreateIntentAutomatic", testCreateAutomatic},
		{"CreateIntentManual", testCreateManual},
		{"WebhookSucceeded", testWebhookSucceeded},
		{"WebhookFailed", testWebhookKind(KindFailed, fulfill.PaymentFailed)},
		{"WebhookRefunded", testWebhookKind(KindRefunded, fulfill.PaymentRefunded)},
		{"WebhookTamperedBody", testTampered},
		{"WebhookWrongSecret", testWrongSecret},
		{"WebhookMissingSignature", testMissingSignature},
		{"WebhookStaleTimestamp", testStale},
		{"WebhookNotAnEvent", testNotAnEvent},
		{"CaptureRefund", testCaptureRefund},
		{"CaptureUnpaidConflict", testCaptureUnpaid},
		{"Void", testVoid},
		{"RefundAutomatic", testRefundAutomatic},
		{"UnknownIntentNotFound", testUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

// uniq returns a fresh random id so parallel subtests never share one.
func uniq(prefix string) string { return fulfill.NewID(prefix, time.Now()) }

func inr(amount int64) fulfill.Money { return fulfill.Money{Amount: amount, Currency: "INR"} }

func create(t *testing.T, h Harness, mode fulfill.CaptureMode) (*fulfill.Intent, string) {
	t.Helper()
	order := uniq("ord")
	in, err := h.Gateway.CreateIntent(t.Context(), fulfill.IntentRequest{
		OrderID: order, Amount: inr(349900), Capture: mode,
		Email: "john@example.com", IdempotencyKey: uniq("idem"), Description: "order " + order,
	})
	if err != nil {
		t.Fatalf("CreateIntent(%s): %v", mode, err)
	}
	return in, order
}

func checkIntent(t *testing.T, h Harness, in *fulfill.Intent) {
	t.Helper()
	if in.ID == "" {
		t.Fatal("intent has no id")
	}
	if in.Provider != h.Gateway.Name() {
		t.Errorf("intent provider = %q, want %q", in.Provider, h.Gateway.Name())
	}
	if (in.ClientSecret == "") == (in.ApprovalURL == "") {
		t.Errorf("intent needs exactly one of client secret and approval URL: %+v", in)
	}
}

func testCreateAutomatic(t *testing.T, h Harness) {
	in, _ := create(t, h, fulfill.CaptureAutomatic)
	checkIntent(t, h, in)
}

func testCreateManual(t *testing.T, h Harness) {
	in, _ := create(t, h, fulfill.CaptureManual)
	checkIntent(t, h, in)
}

func newEvent(kind EventKind) Event {
	return Event{Kind: kind, ID: uniq("evt"), OrderID: uniq("ord"), IntentID: uniq("pi"), Amount: inr(349900)}
}

func parse(t *testing.T, h Harness, hdr http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	t.Helper()
	return h.Gateway.ParseWebhook(t.Context(), hdr, body)
}

func testWebhookSucceeded(t *testing.T, h Harness) {
	testWebhookKind(KindSucceeded, fulfill.PaymentSucceeded)(t, h)
}

func testWebhookKind(kind EventKind, want fulfill.PaymentEventType) func(*testing.T, Harness) {
	return func(t *testing.T, h Harness) {
		ev := newEvent(kind)
		hdr, body := h.SignedEvent(t, ev, SignOptions{})
		got, err := parse(t, h, hdr, body)
		if err != nil {
			t.Fatalf("ParseWebhook(%s): %v", kind, err)
		}
		if got.Type != want || got.RawType == "" {
			t.Errorf("type = %q (raw %q), want %q", got.Type, got.RawType, want)
		}
		if got.Provider != h.Gateway.Name() || got.EventID != ev.ID || got.OrderID != ev.OrderID {
			t.Errorf("event = %+v, want provider %q, event id %q, order %q", got, h.Gateway.Name(), ev.ID, ev.OrderID)
		}
		if got.Amount != ev.Amount {
			t.Errorf("amount = %+v, want %+v", got.Amount, ev.Amount)
		}
		if got.OccurredAt.IsZero() {
			t.Error("occurred_at is zero")
		}
	}
}

func wantCode(t *testing.T, err error, code fulfill.ErrorCode) {
	t.Helper()
	var fe *fulfill.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func testTampered(t *testing.T, h Harness) {
	ev := newEvent(KindSucceeded)
	hdr, body := h.SignedEvent(t, ev, SignOptions{})
	other := "ord_" + strings.Repeat("x", len(ev.OrderID)-4)
	tampered := bytes.Replace(body, []byte(ev.OrderID), []byte(other), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("the order id is not in the body; cannot tamper")
	}
	_, err := parse(t, h, hdr, tampered)
	wantCode(t, err, fulfill.EUnauthenticated)
}

func testWrongSecret(t *testing.T, h Harness) {
	hdr, body := h.SignedEvent(t, newEvent(KindSucceeded), SignOptions{WrongSecret: true})
	_, err := parse(t, h, hdr, body)
	wantCode(t, err, fulfill.EUnauthenticated)
}

func testMissingSignature(t *testing.T, h Harness) {
	hdr, body := h.SignedEvent(t, newEvent(KindSucceeded), SignOptions{})
	hdr.Del(h.SignatureHeader)
	_, err := parse(t, h, hdr, body)
	wantCode(t, err, fulfill.EUnauthenticated)
}

func testStale(t *testing.T, h Harness) {
	if h.NoSignedTimestamp {
		t.Skip("the provider signs no timestamp; redeliveries are caught by the event id")
	}
	hdr, body := h.SignedEvent(t, newEvent(KindSucceeded), SignOptions{Age: 10 * time.Minute})
	_, err := parse(t, h, hdr, body)
	wantCode(t, err, fulfill.EUnauthenticated)
}

func testNotAnEvent(t *testing.T, h Harness) {
	hdr, body := h.SignedEvent(t, newEvent(KindSucceeded), SignOptions{RawBody: []byte(`{"hello":"world"}`)})
	_, err := parse(t, h, hdr, body)
	wantCode(t, err, fulfill.EInvalid)
}

func testCaptureRefund(t *testing.T, h Harness) {
	in, _ := create(t, h, fulfill.CaptureManual)
	h.Pay(t, in.ID)
	if err := h.Gateway.Capture(t.Context(), in.ID, inr(349900)); err != nil {
		t.Fatalf("Capture: %v", err)
	}
	id, err := h.Gateway.Refund(t.Context(), in.ID, inr(100000), "damaged in transit")
	if err != nil || id == "" {
		t.Fatalf("Refund = %q, %v; want a refund id", id, err)
	}
	wantCode(t, h.Gateway.Void(t.Context(), in.ID), fulfill.EConflict)
}

func testCaptureUnpaid(t *testing.T, h Harness) {
	in, _ := create(t, h, fulfill.CaptureManual)
	wantCode(t, h.Gateway.Capture(t.Context(), in.ID, inr(349900)), fulfill.EConflict)
}

func testVoid(t *testing.T, h Harness) {
	in, _ := create(t, h, fulfill.CaptureManual)
	h.Pay(t, in.ID)
	if err := h.Gateway.Void(t.Context(), in.ID); err != nil {
		t.Fatalf("Void: %v", err)
	}
}

func testRefundAutomatic(t *testing.T, h Harness) {
	in, _ := create(t, h, fulfill.CaptureAutomatic)
	h.Pay(t, in.ID)
	id, err := h.Gateway.Refund(t.Context(), in.ID, inr(349900), "requested by customer")
	if err != nil || id == "" {
		t.Fatalf("Refund = %q, %v; want a refund id", id, err)
	}
}

func testUnknown(t *testing.T, h Harness) {
	const id = "no_such_intent_123"
	wantCode(t, h.Gateway.Capture(t.Context(), id, inr(100)), fulfill.ENotFound)
	wantCode(t, h.Gateway.Void(t.Context(), id), fulfill.ENotFound)
	_, err := h.Gateway.Refund(t.Context(), id, inr(100), "x")
	wantCode(t, err, fulfill.ENotFound)
}
