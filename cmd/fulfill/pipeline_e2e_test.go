package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/fulfill-dev/fulfill/internal/gateway/stripe/stripefake"
)

// orderJSON is the part of an order the end-to-end tests read.
type orderJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Total  struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"total"`
	Payment struct {
		Provider     string `json:"provider"`
		IntentID     string `json:"intent_id"`
		ClientSecret string `json:"client_secret"`
		ApprovalURL  string `json:"approval_url"`
	} `json:"payment"`
	Allocations []struct {
		Warehouse string `json:"warehouse"`
		SKU       string `json:"sku"`
		Quantity  int64  `json:"quantity"`
	} `json:"allocations"`
	Timeline []struct {
		From  string `json:"from"`
		To    string `json:"to"`
		Cause string `json:"cause"`
	} `json:"timeline"`
}

// engines runs fn as a subtest on SQLite and, when FULFILL_TEST_POSTGRES_URL
// is set, on PostgreSQL, each with a fresh server started with vars.
func engines(t *testing.T, vars map[string]string, fn func(t *testing.T, s *server)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		v := withVars(vars, map[string]string{"FULFILL_DATA": filepath.Join(t.TempDir(), "data")})
		fn(t, serveInProcess(t, v))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := postgresURL(t)
		schema := "e2e_" + randomHex(t)
		t.Cleanup(func() { dropSchema(t, url, schema) })
		v := withVars(vars, map[string]string{
			"DATABASE_URL": url, "FULFILL_DATABASE_SCHEMA": schema, "FULFILL_DEMO": "true",
			"FULFILL_DATA": filepath.Join(t.TempDir(), "data"),
		})
		fn(t, serveInProcess(t, v))
	})
}

func withVars(maps ...map[string]string) map[string]string {
	out := map[string]string{"FULFILL_LOG_LEVEL": "warn"}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// checkoutBody is a one-line order from Bengaluru, paid with provider.
func checkoutBody(provider, capture string, qty int) map[string]any {
	return map[string]any{
		"customer": map[string]any{"email": "john@example.com", "phone": "+919800000000", "name": "John"},
		"shipping_address": map[string]any{
			"name": "John", "line1": "12 MG Road", "city": "Bengaluru", "region": "KA", "postal_code": "560001",
			"country": "IN", "lat": 12.97, "lon": 77.59,
		},
		"lines":    []map[string]any{{"sku": "WHEY-2KG-CHOC", "quantity": qty}},
		"currency": "INR",
		"payment":  map[string]any{"provider": provider, "capture": capture},
	}
}

// send sends a JSON body with extra headers and returns the response and
// its body.
func send(t *testing.T, method, url, key string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkout places an order and returns it.
func checkout(t *testing.T, s *server, body map[string]any) orderJSON {
	t.Helper()
	resp, raw := send(t, http.MethodPost, s.base+"/v1/checkout", s.key,
		map[string]string{"Idempotency-Key": "e2e-" + randomHex(t)}, mustJSON(t, body))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("checkout = %d %s", resp.StatusCode, raw)
	}
	var o orderJSON
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(o.ID, "ord_") || o.Status != "pending_payment" || o.Payment.IntentID == "" || o.Total.Amount <= 0 {
		t.Fatalf("checkout answered %s", raw)
	}
	return o
}

// confirm plays the shopper on the sandbox's page.
func confirm(t *testing.T, s *server, intentID string, knobs map[string]any) {
	t.Helper()
	resp, raw := send(t, http.MethodPost, s.base+"/sandbox/payments/"+intentID+"/confirm", "", nil, mustJSON(t, knobs))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm = %d %s", resp.StatusCode, raw)
	}
}

// waitOrder polls the order until its status is want (failing at once if
// it settles in one of the stop statuses) and returns it.
func waitOrder(t *testing.T, s *server, id, want string, stop ...string) orderJSON {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var o orderJSON
	for time.Now().Before(deadline) {
		getJSON(t, s.base+"/v1/orders/"+id, s.key, &o)
		if o.Status == want {
			return o
		}
		for _, bad := range stop {
			if o.Status == bad {
				t.Fatalf("order %s is %s, want %s; timeline %+v", id, o.Status, want, o.Timeline)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("order %s is still %s after 45s, want %s; timeline %+v\nserver output:\n%s", id, o.Status, want, o.Timeline, s.out)
	return o
}

// countTo counts the timeline entries that move the order to status.
func countTo(o orderJSON, status string) int {
	n := 0
	for _, e := range o.Timeline {
		if e.To == status {
			n++
		}
	}
	return n
}

// TestPipelineSandboxPaid: checkout → sandbox confirm → the sandbox's
// signed webhook over HTTP → paid → reserved from the nearest warehouse.
func TestPipelineSandboxPaid(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		o := checkout(t, s, checkoutBody("sandbox", "automatic", 2))
		if o.Payment.Provider != "sandbox" || !strings.HasPrefix(o.Payment.ClientSecret, o.Payment.IntentID+"_secret_") {
			t.Fatalf("payment = %+v", o.Payment)
		}
		confirm(t, s, o.Payment.IntentID, map[string]any{"outcome": "succeeded"})
		got := waitOrder(t, s, o.ID, "reserved", "payment_failed", "exception", "cancelled")
		if countTo(got, "paid") != 1 || len(got.Allocations) == 0 {
			t.Fatalf("reserved order = %+v", got)
		}
		for _, a := range got.Allocations {
			if a.Warehouse != "BLR-1" || a.SKU != "WHEY-2KG-CHOC" || a.Quantity != 2 {
				t.Errorf("allocation %+v, want 2 WHEY-2KG-CHOC from BLR-1 (the nearest)", a)
			}
		}
	})
}

// TestPipelineSandboxAutoConfirm: with FULFILL_SANDBOX_AUTO_CONFIRM_MS
// nobody confirms: the sweeper does, its batch job delivers the signed
// webhook, and the order is paid once and reserved.
func TestPipelineSandboxAutoConfirm(t *testing.T) {
	t.Parallel()
	engines(t, map[string]string{"FULFILL_SANDBOX_AUTO_CONFIRM_MS": "50"}, func(t *testing.T, s *server) {
		o := checkout(t, s, checkoutBody("sandbox", "automatic", 1))
		got := waitOrder(t, s, o.ID, "reserved", "payment_failed", "exception", "cancelled")
		if countTo(got, "paid") != 1 {
			t.Fatalf("reserved order = %+v, want paid once", got)
		}
		var jobs page[struct {
			Kind  string `json:"kind"`
			State string `json:"state"`
		}]
		getJSON(t, s.base+"/v1/jobs?kind=sandbox_deliver_batch", s.key, &jobs)
		if len(jobs.Data) == 0 {
			t.Fatal("no sandbox_deliver_batch job: who delivered the payment?")
		}
	})
}

// TestPipelineManualCapture: under "capture": "manual" the confirmed
// payment is only authorized; once the stock is reserved, the payment
// stage's payment_actions job captures it, and a second checkout is paid
// and reserved behind it (a capture job the binary can't queue used to
// fail the payment stage's whole batch, again and again).
func TestPipelineManualCapture(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		first := checkout(t, s, checkoutBody("sandbox", "manual", 1))
		confirm(t, s, first.Payment.IntentID, map[string]any{"outcome": "succeeded"})
		waitOrder(t, s, first.ID, "reserved", "payment_failed", "exception", "cancelled")
		second := checkout(t, s, checkoutBody("sandbox", "automatic", 1))
		confirm(t, s, second.Payment.IntentID, map[string]any{"outcome": "succeeded"})
		waitOrder(t, s, second.ID, "reserved", "payment_failed", "exception", "cancelled")
		deadline := time.Now().Add(30 * time.Second)
		for {
			var jobs page[struct {
				Kind   string `json:"kind"`
				State  string `json:"state"`
				Errors []any  `json:"errors"`
			}]
			getJSON(t, s.base+"/v1/jobs?kind=payment_actions", s.key, &jobs)
			if len(jobs.Data) == 1 && jobs.Data[0].State == "completed" && len(jobs.Data[0].Errors) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("payment_actions jobs = %+v, want one completed", jobs.Data)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The sandbox holds the capture: the intent no longer takes a
		// confirmation.
		resp, raw := send(t, http.MethodPost, s.base+"/sandbox/payments/"+first.Payment.IntentID+"/confirm", "", nil,
			mustJSON(t, map[string]any{"outcome": "succeeded"}))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(raw), "succeeded") {
			t.Errorf("confirming a captured intent = %d %s, want 409 naming its status succeeded", resp.StatusCode, raw)
		}
	})
}

// TestPipelineOutOfStockVoidsOrRefunds: a paid order the stock can't
// serve is cancelled (the default policy) and the shopper is not charged:
// a manual authorization is voided, an automatic capture refunded, both by
// the payment stage's payment_actions jobs at the sandbox.
func TestPipelineOutOfStockVoidsOrRefunds(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		for _, c := range []struct{ capture, final, intent string }{
			{"manual", "cancelled", "canceled"},
			{"automatic", "refunded", "refunded"},
		} {
			o := checkout(t, s, checkoutBody("sandbox", c.capture, 900)) // more than all warehouses hold
			confirm(t, s, o.Payment.IntentID, map[string]any{"outcome": "succeeded"})
			waitOrder(t, s, o.ID, c.final, "reserved", "exception")
			deadline := time.Now().Add(30 * time.Second)
			for {
				resp, raw := send(t, http.MethodPost, s.base+"/sandbox/payments/"+o.Payment.IntentID+"/confirm", "", nil,
					mustJSON(t, map[string]any{"outcome": "succeeded"}))
				if resp.StatusCode == http.StatusConflict && strings.Contains(string(raw), "is "+c.intent) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s capture: the sandbox intent is not %s: %d %s", c.capture, c.intent, resp.StatusCode, raw)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
}

// TestPipelineCancelGivesMoneyBack: a cancelled reserved order gets the
// shopper's money back in either capture mode. Under manual capture the
// payment was captured once the stock was reserved, so the void the
// cancellation queues finds nothing open and refunds instead (it used to
// stop there, leaving a cancelled order charged).
func TestPipelineCancelGivesMoneyBack(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		for _, capture := range []string{"manual", "automatic"} {
			o := checkout(t, s, checkoutBody("sandbox", capture, 1))
			confirm(t, s, o.Payment.IntentID, map[string]any{"outcome": "succeeded"})
			waitOrder(t, s, o.ID, "reserved", "payment_failed", "exception", "cancelled")
			if capture == "manual" {
				waitIntent(t, s, o.Payment.IntentID, "succeeded") // captured after the reservation
			}
			resp, raw := send(t, http.MethodPost, s.base+"/v1/orders/"+o.ID+"/cancel", s.key,
				map[string]string{"Idempotency-Key": "cancel-" + randomHex(t)}, mustJSON(t, map[string]any{"reason": "customer asked"}))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("cancel = %d %s", resp.StatusCode, raw)
			}
			waitOrder(t, s, o.ID, "refunded")
			waitIntent(t, s, o.Payment.IntentID, "refunded")
		}
	})
}

// waitIntent waits until the sandbox intent is in status (a confirmation
// attempt answers 409 naming it).
func waitIntent(t *testing.T, s *server, id, status string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, raw := send(t, http.MethodPost, s.base+"/sandbox/payments/"+id+"/confirm", "", nil,
			mustJSON(t, map[string]any{"outcome": "succeeded"}))
		if resp.StatusCode == http.StatusConflict && strings.Contains(string(raw), "is "+status+" ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox intent %s is not %s: %d %s", id, status, resp.StatusCode, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPipelineUnpaidOrderExpires: with a short FULFILL_ORDER_TTL the
// expiry sweep runs every half of it, so an unpaid order is cancelled
// (cause expired) seconds after it was due, not up to a minute later.
func TestPipelineUnpaidOrderExpires(t *testing.T) {
	t.Parallel()
	engines(t, map[string]string{"FULFILL_ORDER_TTL": "2s"}, func(t *testing.T, s *server) {
		// (With the sweep every minute, the first after start, waitOrder's
		// 45 s would run out.)
		o := checkout(t, s, checkoutBody("sandbox", "automatic", 1))
		got := waitOrder(t, s, o.ID, "cancelled", "paid", "reserved")
		if last := got.Timeline[len(got.Timeline)-1]; last.Cause != "expired" {
			t.Errorf("cancelled with cause %q, want expired", last.Cause)
		}
	})
}

func TestPipelineSandboxDeclined(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		o := checkout(t, s, checkoutBody("sandbox", "manual", 1))
		confirm(t, s, o.Payment.IntentID, map[string]any{"outcome": "declined"})
		waitOrder(t, s, o.ID, "payment_failed", "paid", "reserved")
	})
}

// TestPipelineDuplicateOutOfOrder: the success delivered twice and a stale
// failure after it have one effect.
func TestPipelineDuplicateOutOfOrder(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		o := checkout(t, s, checkoutBody("sandbox", "automatic", 1))
		confirm(t, s, o.Payment.IntentID, map[string]any{"outcome": "succeeded", "duplicate": true, "out_of_order": true})
		waitOrder(t, s, o.ID, "reserved", "payment_failed", "exception")
		// Both events (one success, one stale failure) reach the inbox
		// exactly once each; the stale one must change nothing.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var events page[struct {
				RawType string `json:"raw_type"`
				OrderID string `json:"order_id"`
				Status  string `json:"status"`
			}]
			getJSON(t, s.base+"/v1/webhooks/events?limit=100", s.key, &events)
			mine, settled := 0, true
			for _, e := range events.Data {
				if e.OrderID == o.ID {
					mine++
					settled = settled && e.Status != "received"
				}
			}
			if mine == 2 && settled {
				break
			}
			if mine > 2 || time.Now().After(deadline) {
				t.Fatalf("inbox holds %d events for the order (settled %v), want 2: %+v", mine, settled, events.Data)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var got orderJSON
		getJSON(t, s.base+"/v1/orders/"+o.ID, s.key, &got)
		if got.Status != "reserved" || countTo(got, "paid") != 1 || countTo(got, "payment_failed") != 0 {
			t.Fatalf("after the stale failure: %s, timeline %+v", got.Status, got.Timeline)
		}
	})
}

// TestPipelineIdempotentCheckout: one key, one order; a different body
// with the same key is refused.
func TestPipelineIdempotentCheckout(t *testing.T) {
	t.Parallel()
	engines(t, nil, func(t *testing.T, s *server) {
		key := map[string]string{"Idempotency-Key": "replay-" + randomHex(t)}
		body := mustJSON(t, checkoutBody("sandbox", "automatic", 1))
		r1, b1 := send(t, http.MethodPost, s.base+"/v1/checkout", s.key, key, body)
		r2, b2 := send(t, http.MethodPost, s.base+"/v1/checkout", s.key, key, body)
		if r1.StatusCode != http.StatusCreated || r2.StatusCode != http.StatusCreated || !bytes.Equal(b1, b2) {
			t.Fatalf("replay: %d %s / %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
		}
		if r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the replay lacks Idempotent-Replayed: true")
		}
		other := mustJSON(t, checkoutBody("sandbox", "automatic", 3))
		if r3, b3 := send(t, http.MethodPost, s.base+"/v1/checkout", s.key, key, other); r3.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("same key, other body = %d %s, want 422", r3.StatusCode, b3)
		}
	})
}

// TestPipelineStripeEndToEnd: checkout through the Stripe adapter against
// its fake API, then a stripe-go-signed webhook to /webhooks/stripe.
func TestPipelineStripeEndToEnd(t *testing.T) {
	t.Parallel()
	const sk, whsec = "sk_test_e2e", "whsec_e2e_secret"
	fake := stripefake.New(t, sk)
	vars := map[string]string{
		"FULFILL_GATEWAYS": "sandbox,stripe", "FULFILL_STRIPE_SECRET_KEY": sk,
		"FULFILL_STRIPE_API_BASE": fake.URL, "FULFILL_STRIPE_WEBHOOK_SECRETS": "whsec_old," + whsec,
	}
	engines(t, vars, func(t *testing.T, s *server) {
		o := checkout(t, s, checkoutBody("stripe", "automatic", 1))
		if err := fake.Pay(o.Payment.IntentID); err != nil {
			t.Fatal(err)
		}
		body := mustJSON(t, map[string]any{
			"id": "evt_" + randomHex(t), "object": "event", "api_version": stripego.APIVersion,
			"created": time.Now().Unix(), "type": "payment_intent.succeeded",
			"data": map[string]any{"object": map[string]any{
				"id": o.Payment.IntentID, "object": "payment_intent", "amount": o.Total.Amount, "amount_received": o.Total.Amount,
				"currency": strings.ToLower(o.Total.Currency), "status": "succeeded", "metadata": map[string]string{"order_id": o.ID},
			}},
		})
		bad := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_wrong", Timestamp: time.Now()})
		if r, raw := send(t, http.MethodPost, s.base+"/webhooks/stripe", "", map[string]string{"Stripe-Signature": bad.Header}, body); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("wrong secret = %d %s, want 400", r.StatusCode, raw)
		}
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: whsec, Timestamp: time.Now()})
		r, raw := send(t, http.MethodPost, s.base+"/webhooks/stripe", "", map[string]string{"Stripe-Signature": sp.Header}, body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("signed webhook = %d %s", r.StatusCode, raw)
		}
		waitOrder(t, s, o.ID, "reserved", "payment_failed", "exception")
		if in, ok := fake.Intent(o.Payment.IntentID); !ok || in.Metadata["order_id"] != o.ID {
			t.Errorf("the Stripe intent does not carry metadata.order_id %s: %+v", o.ID, in)
		}

		// Manual capture: the authorization (amount_capturable_updated)
		// pays the order, and Fulfill captures at Stripe once the stock is
		// reserved.
		m := checkout(t, s, checkoutBody("stripe", "manual", 1))
		if err := fake.Pay(m.Payment.IntentID); err != nil {
			t.Fatal(err)
		}
		auth := mustJSON(t, map[string]any{
			"id": "evt_" + randomHex(t), "object": "event", "api_version": stripego.APIVersion,
			"created": time.Now().Unix(), "type": "payment_intent.amount_capturable_updated",
			"data": map[string]any{"object": map[string]any{
				"id": m.Payment.IntentID, "object": "payment_intent", "amount": m.Total.Amount, "amount_capturable": m.Total.Amount,
				"currency": strings.ToLower(m.Total.Currency), "status": "requires_capture", "capture_method": "manual",
				"metadata": map[string]string{"order_id": m.ID},
			}},
		})
		sp = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: auth, Secret: whsec, Timestamp: time.Now()})
		if r, raw := send(t, http.MethodPost, s.base+"/webhooks/stripe", "", map[string]string{"Stripe-Signature": sp.Header}, auth); r.StatusCode != http.StatusOK {
			t.Fatalf("amount_capturable_updated = %d %s", r.StatusCode, raw)
		}
		waitOrder(t, s, m.ID, "reserved", "payment_failed", "exception")
		deadline := time.Now().Add(30 * time.Second)
		for {
			in, _ := fake.Intent(m.Payment.IntentID)
			if in.Status == "succeeded" && in.Received == m.Total.Amount {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the authorized Stripe intent was not captured: %+v", in)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestSandboxSecretPersists: the generated sandbox secret survives a
// restart on the same data folder and is never printed.
func TestSandboxSecretPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := &Config{DataDir: dir}
	a, err := sandboxSecret(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sandboxSecret(cfg)
	if err != nil || a != b || !strings.HasPrefix(a, "whsec_sbx_") {
		t.Fatalf("secrets %q then %q (%v)", a, b, err)
	}
	cfg.Pipeline.SandboxWebhookSecret = "whsec_given"
	var out bytes.Buffer
	cfg.Print(&out)
	if strings.Contains(out.String(), "whsec_given") {
		t.Errorf("the printed configuration shows the secret:\n%s", out.String())
	}
	if got, _ := sandboxSecret(cfg); got != "whsec_given" {
		t.Errorf("a configured secret is not used: %q", got)
	}
}

func TestPipelineSettingsValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []map[string]string{
		{"FULFILL_GATEWAYS": "sandbox,bitcoin"},
		{"FULFILL_OUT_OF_STOCK_POLICY": "shrug"},
		{"FULFILL_IDEMPOTENCY_TTL": "1h"},
		{"FULFILL_SANDBOX_WEBHOOK_URL": "localhost:8080/x"},
		{"FULFILL_CHECKOUT_RATE_PER_IP": "0"},
		{"FULFILL_REDIS_URL": "http://redis"},
	} {
		if _, err := parseTestConfig(t, c); err == nil {
			t.Errorf("%v: accepted", c)
		}
	}
	cfg, err := parseTestConfig(t, map[string]string{"FULFILL_GATEWAYS": " Sandbox , stripe,sandbox", "FULFILL_OUT_OF_STOCK_POLICY": "Backorder"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.Pipeline.GatewayNames()); got != "[sandbox stripe]" || cfg.Pipeline.OutOfStockPolicy != "backorder" {
		t.Errorf("gateways %s, policy %q", got, cfg.Pipeline.OutOfStockPolicy)
	}
}

// TestREADMEListsEverySetting keeps the README's settings table complete.
func TestREADMEListsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		if !bytes.Contains(readme, []byte("`"+s.env+"`")) || !bytes.Contains(readme, []byte("`--"+s.flag+"`")) {
			t.Errorf("README.md's settings table lacks --%s / %s", s.flag, s.env)
		}
	}
}
