package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

func TestCheckoutHappyPath(t *testing.T) {
	t.Parallel()
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: engine})
			body := cart()
			// A client price is not a field: the catalog prices.
			r := s.checkout("k-happy", body)
			if r.status != http.StatusCreated {
				t.Fatalf("checkout: %d %s", r.status, r.body)
			}
			o := decodeOrder(t, r)
			if !strings.HasPrefix(o.ID, "ord_") || o.Status != "pending_payment" {
				t.Fatalf("order %+v", o)
			}
			if r.header.Get("Location") != "/v1/orders/"+o.ID {
				t.Errorf("Location %q", r.header.Get("Location"))
			}
			if len(o.Lines) != 2 || o.Lines[0].UnitPrice.Amount != 249900 || o.Lines[1].Total.Amount != 3*9900 {
				t.Errorf("lines %+v", o.Lines)
			}
			if o.Total != (fulfill.Money{Amount: 249900 + 3*9900, Currency: "INR"}) {
				t.Errorf("total %+v", o.Total)
			}
			if o.Payment.Provider != "fake" || o.Payment.IntentID != "pi_"+o.ID || o.Payment.ClientSecret == "" || o.Payment.Capture != "automatic" {
				t.Errorf("payment %+v", o.Payment)
			}
			if len(o.Timeline) != 1 || o.Timeline[0].To != "pending_payment" || o.Timeline[0].Cause != "checkout" {
				t.Errorf("timeline %+v", o.Timeline)
			}
			if o.ExpiresAt == nil || o.ExpiresAt.Sub(o.CreatedAt) != 30*time.Minute {
				t.Errorf("expires_at %v created_at %v", o.ExpiresAt, o.CreatedAt)
			}
			if o.Allocations == nil {
				t.Errorf("allocations is null, want []")
			}
			calls := s.gw.calls()
			if len(calls) != 1 || calls[0].OrderID != o.ID || calls[0].Amount != o.Total || calls[0].Email != "john@example.com" {
				t.Errorf("gateway calls %+v", calls)
			}

			var got order
			s.call("GET", "/v1/orders/"+o.ID, nil, http.StatusOK, &got)
			if got.ID != o.ID || got.Total != o.Total || len(got.Timeline) != 1 || got.Payment.IntentID != o.Payment.IntentID {
				t.Errorf("GET order %+v", got)
			}
			rows, _ := listAll[order](s.env, "/v1/orders?status=pending_payment&limit=1")
			if len(rows) != 1 || rows[0].ID != o.ID {
				t.Errorf("list pending: %+v", rows)
			}
			rows, _ = listAll[order](s.env, "/v1/orders?status=paid")
			if len(rows) != 0 {
				t.Errorf("list paid: %+v", rows)
			}
			wantError(t, s.do("GET", "/v1/orders?status=bogus", s.merchant, nil), 400, "invalid", "status")
			wantError(t, s.do("GET", "/v1/orders/ord_nope", s.merchant, nil), 404, "not_found", "")
		})
	}
}

func TestCheckoutManualCaptureAndBundle(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	body := cart()
	body["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 1}, map[string]any{"sku": "BAR", "quantity": 2}}
	body["payment"] = map[string]any{"provider": "fake", "capture": "manual"}
	r := s.checkout("k-bundle", body)
	if r.status != http.StatusCreated {
		t.Fatalf("checkout: %d %s", r.status, r.body)
	}
	o := decodeOrder(t, r)
	if len(o.Lines) != 2 || o.Total.Amount != 3*9900 || o.Payment.Capture != "manual" {
		t.Fatalf("order %+v", o)
	}
	delete(body["payment"].(map[string]any), "capture")
	o = decodeOrder(t, s.checkout("k-default-capture", body))
	if o.Payment.Capture != "automatic" {
		t.Errorf("default capture %q", o.Payment.Capture)
	}
}

func TestCheckoutRoles(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	wantError(t, s.send("POST", "/v1/checkout", "", cart(), map[string]string{"Idempotency-Key": "a"}), 401, "unauthenticated", "")
	device, _, err := s.app.CreateAPIKey(t.Context(), fulfill.RoleDevice, "scanner")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, s.send("POST", "/v1/checkout", device, cart(), map[string]string{"Idempotency-Key": "a"}), 403, "forbidden", "")
	r := s.send("POST", "/v1/checkout", s.admin, cart(), map[string]string{"Idempotency-Key": "a"})
	if r.status != http.StatusCreated {
		t.Fatalf("admin checkout: %d %s", r.status, r.body)
	}
}

// edit returns a valid cart changed by f.
// engineProviders runs a checkout test on each engine with a remote
// gateway ("fake") and one that keeps its intents in our database
// ("local").
func engineProviders(t *testing.T) []struct{ name, engine, provider string } {
	var out []struct{ name, engine, provider string }
	for _, e := range engines(t) {
		for _, p := range []string{"fake", "local"} {
			out = append(out, struct{ name, engine, provider string }{e + "/" + p, e, p})
		}
	}
	return out
}

func edit(f func(m map[string]any)) map[string]any {
	m := cart()
	f(m)
	return m
}

func sub(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }

func TestCheckoutBadInput(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"not json", "{", 400, "invalid", ""},
		{"empty", "", 400, "invalid", ""},
		{"array", "[]", 400, "invalid", ""},
		{"unknown field", edit(func(m map[string]any) { m["price"] = 1 }), 400, "invalid", "price"},
		{"client line price", edit(func(m map[string]any) {
			m["lines"] = []any{map[string]any{"sku": "WHEY", "quantity": 1, "unit_price": 1}}
		}), 400, "invalid", "*"},
		{"no email", edit(func(m map[string]any) { delete(sub(m, "customer"), "email") }), 400, "invalid", "customer.email"},
		{"bad email", edit(func(m map[string]any) { sub(m, "customer")["email"] = "john at example" }), 400, "invalid", "customer.email"},
		{"named email", edit(func(m map[string]any) { sub(m, "customer")["email"] = "John <j@example.com>" }), 400, "invalid", "customer.email"},
		{"bad phone", edit(func(m map[string]any) { sub(m, "customer")["phone"] = "call me" }), 400, "invalid", "customer.phone"},
		{"no address", edit(func(m map[string]any) { delete(m, "shipping_address") }), 400, "invalid", "shipping_address.line1"},
		{"no city", edit(func(m map[string]any) { sub(m, "shipping_address")["city"] = " " }), 400, "invalid", "shipping_address.city"},
		{"no postal code", edit(func(m map[string]any) { delete(sub(m, "shipping_address"), "postal_code") }), 400, "invalid", "shipping_address.postal_code"},
		{"bad country", edit(func(m map[string]any) { sub(m, "shipping_address")["country"] = "India" }), 400, "invalid", "shipping_address.country"},
		{"lat out of range", edit(func(m map[string]any) { sub(m, "shipping_address")["lat"] = 91 }), 400, "invalid", "shipping_address.lat"},
		{"lon out of range", edit(func(m map[string]any) { sub(m, "shipping_address")["lon"] = -181 }), 400, "invalid", "shipping_address.lon"},
		{"lat not a number", edit(func(m map[string]any) { sub(m, "shipping_address")["lat"] = "north" }), 400, "invalid", "shipping_address.lat"},
		{"no lines", edit(func(m map[string]any) { m["lines"] = []any{} }), 400, "invalid", "lines"},
		{"too many lines", edit(func(m map[string]any) {
			var ls []any
			for range 101 {
				ls = append(ls, map[string]any{"sku": "BAR", "quantity": 1})
			}
			m["lines"] = ls
		}), 400, "invalid", "lines"},
		{"zero quantity", edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 0}} }), 400, "invalid", "lines[0].quantity"},
		{"huge quantity", edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 1001}} }), 400, "invalid", "lines[0].quantity"},
		{"fractional quantity", edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 1.5}} }), 400, "invalid", "lines.quantity"},
		{"bad sku", edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "no spaces", "quantity": 1}} }), 400, "invalid", "lines[0].sku"},
		{"unknown sku", edit(func(m map[string]any) {
			m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 1}, map[string]any{"sku": "NOPE", "quantity": 1}}
		}), 400, "invalid", "lines[1].sku"},
		{"inactive sku", edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "OLD", "quantity": 1}} }), 400, "invalid", "lines[0].sku"},
		{"bad currency", edit(func(m map[string]any) { m["currency"] = "rupees" }), 400, "invalid", "currency"},
		{"currency mismatch", edit(func(m map[string]any) { m["currency"] = "USD" }), 400, "invalid", "currency"},
		{"mixed currencies", edit(func(m map[string]any) {
			m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 1}, map[string]any{"sku": "USD-ITEM", "quantity": 1}}
		}), 400, "invalid", "currency"},
		{"no provider", edit(func(m map[string]any) { delete(sub(m, "payment"), "provider") }), 400, "invalid", "payment.provider"},
		{"unknown provider", edit(func(m map[string]any) { sub(m, "payment")["provider"] = "stripe" }), 400, "invalid", "payment.provider"},
		{"bad capture", edit(func(m map[string]any) { sub(m, "payment")["capture"] = "later" }), 400, "invalid", "payment.capture"},
		{"too large", edit(func(m map[string]any) { sub(m, "customer")["name"] = strings.Repeat("x", 9000) }), 413, "too_large", ""},
	}
	for i, c := range cases {
		r := s.checkout(fmt.Sprintf("bad-%d", i), c.body)
		t.Run(c.name, func(t *testing.T) { wantError(t, r, c.status, c.code, c.field) })
	}
	if n := s.orderCount(); n != 0 {
		t.Errorf("%d orders written by bad input", n)
	}
	if calls := s.gw.calls(); len(calls) != 0 {
		t.Errorf("gateway called for bad input: %+v", calls)
	}
}

func TestCheckoutGatewayDown(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	down := true
	var mu sync.Mutex
	s.gw.CreateIntentFunc = func(_ context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return nil, fulfill.Errorf(fulfill.EUnavailable, "fake gateway is down")
		}
		return &fulfill.Intent{Provider: "fake", ID: "pi_" + req.OrderID, ClientSecret: "cs"}, nil
	}
	wantError(t, s.checkout("k-down", cart()), 503, "unavailable", "")
	if n := s.orderCount(); n != 0 {
		t.Fatalf("%d orders after a gateway failure", n)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	// The 503 was not stored: the retry with the same key runs again.
	r := s.checkout("k-down", cart())
	if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %v %s", r.status, r.header, r.body)
	}
}

func TestCheckoutIdempotency(t *testing.T) {
	t.Parallel()
	// "local" keeps its intents in our database: checkout opens the intent
	// in the order's transaction, with the same answers.
	for _, run := range engineProviders(t) {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: run.engine})
			cart := func() map[string]any { return cartFor(run.provider) }
			edit := func(f func(m map[string]any)) map[string]any {
				m := cart()
				f(m)
				return m
			}
			wantError(t, s.send("POST", "/v1/checkout", s.merchant, cart(), nil), 400, "invalid", "Idempotency-Key")
			wantError(t, s.checkout(strings.Repeat("k", 256), cart()), 400, "invalid", "Idempotency-Key")

			first := s.checkout("k-1", cart())
			if first.status != http.StatusCreated || first.header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			again := s.checkout("k-1", cart())
			if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %v\n%s\nwant\n%s", again.status, again.header, again.body, first.body)
			}
			other := edit(func(m map[string]any) { m["lines"] = []any{map[string]any{"sku": "BAR", "quantity": 9}} })
			wantError(t, s.checkout("k-1", other), 422, "idempotency_key_reused", "Idempotency-Key")
			// Keys are scoped to the API key: another key may use the same one.
			r := s.send("POST", "/v1/checkout", s.admin, cart(), map[string]string{"Idempotency-Key": "k-1"})
			if r.status != http.StatusCreated || bytes.Equal(r.body, first.body) {
				t.Fatalf("other API key: %d %s", r.status, r.body)
			}
			// A 4xx is stored and replayed too.
			bad := edit(func(m map[string]any) { m["currency"] = "USD" })
			b1 := s.checkout("k-bad", bad)
			b2 := s.checkout("k-bad", bad)
			if b1.status != 400 || b2.status != 400 || !bytes.Equal(b1.body, b2.body) || b2.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("4xx replay: %d %d %v", b1.status, b2.status, b2.header)
			}
			if n := s.orderCount(); n != 2 {
				t.Errorf("%d orders, want 2", n)
			}
		})
	}
}

func TestCheckoutConcurrentSameKey(t *testing.T) {
	t.Parallel()
	for _, run := range engineProviders(t) {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: run.engine})
			cart := func() map[string]any { return cartFor(run.provider) }
			const n = 100
			results := make([]response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					results[i] = s.checkout("same-key", cart())
				})
			}
			close(start)
			wg.Wait()
			var created []byte
			counts := map[int]int{}
			for _, r := range results {
				counts[r.status]++
				switch r.status {
				case http.StatusCreated:
					if created == nil {
						created = r.body
					} else if !bytes.Equal(created, r.body) {
						t.Errorf("two different 201 bodies:\n%s\n%s", created, r.body)
					}
				case http.StatusConflict:
					wantError(t, r, 409, "conflict", "")
				default:
					t.Errorf("status %d: %s", r.status, r.body)
				}
			}
			t.Logf("statuses: %v", counts)
			if got := s.orderCount(); got != 1 {
				t.Fatalf("%d orders, want exactly 1", got)
			}
			// (A local gateway's intents roll back with their orders.)
			if calls := s.gw.calls(); run.provider == "fake" && len(calls) != 1 {
				t.Errorf("%d intents created, want 1", len(calls))
			}
			// Once done, every retry replays.
			r := s.checkout("same-key", cart())
			if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("after the race: %d %s", r.status, r.body)
			}
		})
	}
}

func TestIdempotencyOnAdminWrites(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	p := productBody("IDEM-1")
	delete(p, "barcode")
	h := map[string]string{"Idempotency-Key": "create-idem-1"}
	r1 := s.send("POST", "/v1/products", s.admin, p, h)
	r2 := s.send("POST", "/v1/products", s.admin, p, h)
	if r1.status != 201 || r2.status != 201 || !bytes.Equal(r1.body, r2.body) || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("product create replay: %d %d %s", r1.status, r2.status, r2.body)
	}
	// Without a key a second create is a real second request: 409.
	wantError(t, s.send("POST", "/v1/products", s.admin, p, nil), 409, "already_exists", "*")
	// Same key, other path: reused.
	wantError(t, s.send("PATCH", "/v1/products/IDEM-1", s.admin, map[string]any{"name": "x"}, h), 422, "idempotency_key_reused", "Idempotency-Key")
	// GET ignores the header.
	if r := s.send("GET", "/v1/products/IDEM-1", s.admin, nil, h); r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("GET with key: %d", r.status)
	}
}
