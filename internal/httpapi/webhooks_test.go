package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/gateway/stripe"
	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// ack is the webhook answer.
type ack struct {
	Received  bool   `json:"received"`
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

func decodeAck(t *testing.T, r response) ack {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("webhook: %d %s", r.status, r.body)
	}
	var a ack
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// fakeHook posts a fake gateway event, signed unless sig is "".
func (s *shop) fakeHook(e fakeEvent, sig string) response {
	s.t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	if sig != "" {
		h["X-Fake-Signature"] = sig
	}
	return s.send("POST", "/webhooks/fake", "", e, h)
}

func TestWebhookFakeGateway(t *testing.T) {
	t.Parallel()
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: engine})
			o := decodeOrder(t, s.checkout("k-hook", cart()))
			ev := fakeEvent{ID: "evt_1", Type: "payment.succeeded", OrderID: o.ID, IntentID: o.Payment.IntentID,
				Amount: o.Total.Amount, Currency: "INR"}

			// Rejections store nothing.
			wantError(t, s.fakeHook(ev, ""), 400, "invalid_signature", "")
			wantError(t, s.fakeHook(ev, "forged"), 400, "invalid_signature", "")
			wantError(t, s.send("POST", "/webhooks/fake", "", "not json", map[string]string{"X-Fake-Signature": "ok"}), 400, "invalid", "")
			wantError(t, s.send("POST", "/webhooks/nope", "", ev, nil), 404, "not_found", "")
			big := ev
			big.Type = strings.Repeat("x", 9000)
			wantError(t, s.fakeHook(big, "ok"), 413, "too_large", "")
			if n := s.eventCount(); n != 0 {
				t.Fatalf("%d events stored by rejected webhooks", n)
			}

			a := decodeAck(t, s.fakeHook(ev, "ok"))
			if !a.Received || a.Duplicate || !strings.HasPrefix(a.ID, "whk_") {
				t.Fatalf("ack %+v", a)
			}
			dup := decodeAck(t, s.fakeHook(ev, "ok"))
			if !dup.Duplicate {
				t.Fatalf("redelivery ack %+v", dup)
			}
			if dup.ID != a.ID {
				t.Logf("duplicate ack id %s differs from the stored %s (store does not report the stored id)", dup.ID, a.ID)
			}
			// Unknown order and unknown type: stored, 200.
			decodeAck(t, s.fakeHook(fakeEvent{ID: "evt_2", Type: "payment.succeeded", OrderID: "ord_unknown", Amount: 1, Currency: "INR"}, "ok"))
			decodeAck(t, s.fakeHook(fakeEvent{ID: "evt_3", Type: "customer.created"}, "ok"))

			events, _ := listAll[fulfill.WebhookEvent](s.env, "/v1/webhooks/events?provider=fake")
			if len(events) != 3 {
				t.Fatalf("%d events, want 3: %+v", len(events), events)
			}
			received, _ := listAll[fulfill.WebhookEvent](s.env, "/v1/webhooks/events?status=received")
			if len(received) != 3 {
				t.Errorf("%d received events", len(received))
			}
			wantError(t, s.do("GET", "/v1/webhooks/events?status=bogus", s.admin, nil), 400, "invalid", "status")
			wantError(t, s.do("GET", "/v1/webhooks/events", s.merchant, nil), 403, "forbidden", "")

			var one struct {
				fulfill.WebhookEvent
				Payload json.RawMessage `json:"payload"`
			}
			s.call("GET", "/v1/webhooks/events/"+a.ID, nil, http.StatusOK, &one)
			if one.EventID != "evt_1" || one.OrderID != o.ID || one.Type != fulfill.PaymentSucceeded ||
				one.Amount.Amount != o.Total.Amount || one.Status != fulfill.WebhookReceived || len(one.Payload) == 0 {
				t.Errorf("event %+v payload %s", one.WebhookEvent, one.Payload)
			}
			wantError(t, s.do("GET", "/v1/webhooks/events/whk_nope", s.admin, nil), 404, "not_found", "")

			jobsBefore := countJobs(t, s, app.ProcessPaymentsArgs{}.Kind())
			if jobsBefore < 1 {
				t.Errorf("no process_payments job queued")
			}
			s.call("POST", "/v1/webhooks/events/"+a.ID+"/replay", nil, http.StatusOK, nil)
			// No worker runs here: the job queued with the event still
			// waits, and will apply the replayed event too (coalesced).
			if n := countJobs(t, s, app.ProcessPaymentsArgs{}.Kind()); n != jobsBefore {
				t.Errorf("replay with a job already waiting queued %d more", n-jobsBefore)
			}
			wantError(t, s.do("POST", "/v1/webhooks/events/whk_nope/replay", s.admin, nil), 404, "not_found", "")

			m := s.do("GET", "/metrics", "", nil)
			for _, want := range []string{
				`fulfill_webhook_rejected_total{provider="fake",reason="invalid_signature"} 2`,
				`fulfill_webhook_rejected_total{provider="unknown",reason="unknown_provider"} 1`,
				`fulfill_webhook_rejected_total{provider="fake",reason="too_large"} 1`,
				`fulfill_webhooks_received_total{provider="fake",result="duplicate"} 1`,
				`fulfill_webhooks_received_total{provider="fake",result="stored"} 3`,
				`fulfill_webhook_ack_duration_seconds_count{provider="fake"} 4`,
				`fulfill_checkout_total{result="created"} 1`,
			} {
				if !strings.Contains(string(m.body), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

// countJobs counts queued jobs of kind.
func countJobs(t *testing.T, s *shop, kind string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		jobs, next, err := s.st.Jobs().List(t.Context(), fulfill.JobFilter{Kind: kind, Cursor: cursor, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(jobs)
		if next == "" {
			return n
		}
		cursor = next
	}
}

func TestWebhookGroupCommit(t *testing.T) {
	t.Parallel()
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: engine})
			const n = 200
			var wg sync.WaitGroup
			acks := make([]response, n)
			for i := range n {
				wg.Go(func() {
					// Every event twice: one of each pair is a duplicate.
					acks[i] = s.fakeHook(fakeEvent{ID: fmt.Sprintf("evt_%d", i/2), Type: "payment.succeeded"}, "ok")
				})
			}
			wg.Wait()
			dups := 0
			for _, r := range acks {
				if decodeAck(t, r).Duplicate {
					dups++
				}
			}
			if dups != n/2 {
				t.Errorf("%d duplicates, want %d", dups, n/2)
			}
			if got := s.eventCount(); got != n/2 {
				t.Errorf("%d events stored, want %d", got, n/2)
			}
			jobs := countJobs(t, s, app.ProcessPaymentsArgs{}.Kind())
			t.Logf("%d webhooks → %d process_payments jobs (one per group commit)", n, jobs)
			if jobs < 1 || jobs >= n/2 {
				t.Errorf("%d jobs: group commit did not group", jobs)
			}
		})
	}
}

const (
	whsec     = "whsec_fulfill_test"
	stripeKey = "sk_test_fulfill"
)

// stripeEvent renders a payment_intent.succeeded event as Stripe sends it.
func stripeEvent(id, orderID, intentID string, amount int64, at time.Time) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripego.APIVersion, "created": at.Unix(),
		"livemode": false, "pending_webhooks": 1, "type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{
			"id": intentID, "object": "payment_intent", "amount": amount, "amount_received": amount,
			"currency": "inr", "status": "succeeded", "capture_method": "automatic",
			"metadata": map[string]string{"order_id": orderID},
		}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// stripeSigned signs body with stripe-go's own test helper.
func stripeSigned(body []byte, secret string, at time.Time) map[string]string {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	return map[string]string{"Stripe-Signature": sp.Header, "Content-Type": "application/json"}
}

func newStripe(t testing.TB) fulfill.Gateway {
	t.Helper()
	g, err := stripe.New(stripe.Config{SecretKey: stripeKey, APIBase: "http://127.0.0.1:1", WebhookSecrets: []string{whsec}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestWebhookStripe(t *testing.T) {
	t.Parallel()
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: engine, gateways: []fulfill.Gateway{newStripe(t)}})
			now := time.Now()
			body := stripeEvent("evt_stripe_1", "ord_x", "pi_x", 249900, now)

			wantError(t, s.send("POST", "/webhooks/stripe", "", body, map[string]string{"Content-Type": "application/json"}), 400, "invalid_signature", "")
			wantError(t, s.send("POST", "/webhooks/stripe", "", body, stripeSigned(body, "whsec_wrong", now)), 400, "invalid_signature", "")
			wantError(t, s.send("POST", "/webhooks/stripe", "", body, stripeSigned(body, whsec, now.Add(-10*time.Minute))), 400, "invalid_signature", "")
			tampered := []byte(strings.Replace(string(body), "249900", "100", 2))
			wantError(t, s.send("POST", "/webhooks/stripe", "", tampered, stripeSigned(body, whsec, now)), 400, "invalid_signature", "")
			if n := s.eventCount(); n != 0 {
				t.Fatalf("%d events stored by rejected webhooks", n)
			}

			a := decodeAck(t, s.send("POST", "/webhooks/stripe", "", body, stripeSigned(body, whsec, now)))
			dup := decodeAck(t, s.send("POST", "/webhooks/stripe", "", body, stripeSigned(body, whsec, now.Add(time.Second))))
			if a.Duplicate || !dup.Duplicate {
				t.Fatalf("acks %+v %+v", a, dup)
			}
			events, _ := listAll[fulfill.WebhookEvent](s.env, "/v1/webhooks/events?provider=stripe")
			if len(events) != 1 || events[0].Type != fulfill.PaymentSucceeded || events[0].OrderID != "ord_x" ||
				events[0].IntentID != "pi_x" || events[0].Amount != (fulfill.Money{Amount: 249900, Currency: "INR"}) {
				t.Fatalf("events %+v", events)
			}
		})
	}
}

func TestSandboxConfirm(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	wantError(t, s.send("POST", "/sandbox/payments/pi_1/confirm", "", map[string]any{"outcome": "succeeded"}, nil), 404, "not_found", "")

	sb := &fakeSandbox{}
	s2 := newShop(t, shopOpts{sandbox: sb})
	wantError(t, s2.send("POST", "/sandbox/payments/pi_1/confirm", "", map[string]any{"outcome": "maybe"}, nil), 400, "invalid", "outcome")
	wantError(t, s2.send("POST", "/sandbox/payments/pi_1/confirm", "", map[string]any{"outcome": "succeeded", "delay_ms": -1}, nil), 400, "invalid", "delay_ms")
	r := s2.send("POST", "/sandbox/payments/pi_1/confirm", "", map[string]any{"outcome": "succeeded", "duplicate": true, "fail_first": 2}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	var si fulfill.SandboxIntent
	if err := json.Unmarshal(r.body, &si); err != nil || si.ID != "pi_1" || si.Status != "succeeded" {
		t.Fatalf("intent %s %v", r.body, err)
	}
	if sb.last.Outcome != "succeeded" || !sb.last.Duplicate || sb.last.FailFirst != 2 {
		t.Errorf("sandbox got %+v", sb.last)
	}
}

// fakeSandbox is a hand-written app.SandboxPayments.
type fakeSandbox struct {
	mu   sync.Mutex
	last app.SandboxConfirm
}

func (f *fakeSandbox) Confirm(_ context.Context, id string, req app.SandboxConfirm) (*fulfill.SandboxIntent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = req
	return &fulfill.SandboxIntent{ID: id, Status: req.Outcome}, nil
}
