package httpapi_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// FuzzCheckoutBody sends random bodies to the checkout handler: no panic,
// and only 4xx or 201 (never a 5xx).
func FuzzCheckoutBody(f *testing.F) {
	s := newShop(f, shopOpts{maxBody: 4096})
	for _, seed := range []any{
		cart(),
		edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 1000}} }),
		edit(func(m map[string]any) { sub(m, "shipping_address")["lat"] = 1e308 }),
		edit(func(m map[string]any) { sub(m, "customer")["email"] = "a@b" }),
	} {
		f.Add(mustJSON(seed))
	}
	f.Add([]byte(`{"lines":[{"sku":"WHEY","quantity":9223372036854775807}]}`))
	f.Add([]byte(`{"customer":null,"lines":null}`))
	f.Add([]byte("\x00\xff"))
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		key := fmt.Sprintf("fuzz-%d-%d", time.Now().UnixNano(), n.Add(1))
		r := sendRaw(t, s.url, "POST", "/v1/checkout", s.merchant, body, map[string]string{"Idempotency-Key": key})
		if r.status != 201 && (r.status < 400 || r.status >= 500) {
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
	})
}

// FuzzStripeWebhook sends random bodies and signature headers to the
// Stripe webhook endpoint (the real adapter): no panic, never a 5xx, and
// junk is refused with a 4xx.
func FuzzStripeWebhook(f *testing.F) {
	s := newShop(f, shopOpts{maxBody: 8192, gateways: []fulfill.Gateway{newStripe(f)}})
	now := time.Now()
	body := stripeEvent("evt_seed", "ord_x", "pi_x", 100, now)
	f.Add(body, stripeSigned(body, whsec, now)["Stripe-Signature"])
	f.Add(body, "t=1,v1=00")
	f.Add([]byte("{}"), "")
	f.Add([]byte(`{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{}}}`), fmt.Sprintf("t=%d,v1=abc,v0=def", now.Unix()))
	seedSig := stripeSigned(body, whsec, now)["Stripe-Signature"]
	f.Fuzz(func(t *testing.T, b []byte, sig string) {
		if !validHeaderValue(sig) {
			t.Skip("net/http refuses to send this header value")
		}
		r := sendRaw(t, s.url, "POST", "/webhooks/stripe", "", b, map[string]string{"Stripe-Signature": sig})
		// Only the untouched seed carries a valid signature.
		signed := sig == seedSig && bytes.Equal(b, body)
		if (signed && r.status != 200) || (!signed && (r.status < 400 || r.status >= 500)) {
			t.Fatalf("status %d for %q / %q: %s", r.status, b, sig, r.body)
		}
	})
}

// validHeaderValue reports whether net/http's client will send v.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
