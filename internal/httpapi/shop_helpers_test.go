package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/httpapi"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

const pgURLEnv = "FULFILL_TEST_POSTGRES_URL"

// engines lists the stores the pipeline stories run on: SQLite always,
// PostgreSQL when FULFILL_TEST_POSTGRES_URL is set.
func engines(t *testing.T) []string {
	t.Helper()
	if os.Getenv(pgURLEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(pgURLEnv + " must be set on CI to run the PostgreSQL stories")
	}
	t.Log("set " + pgURLEnv + " to run these stories on PostgreSQL too")
	return []string{"sqlite"}
}

// fakeGateway is a hand-written fulfill.Gateway. The zero Funcs give a
// working gateway: intents "pi_<order id>" and webhooks signed with the
// header X-Fake-Signature: ok and a JSON body of fakeEvent.
type fakeGateway struct {
	name             string
	CreateIntentFunc func(ctx context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error)
	ParseWebhookFunc func(ctx context.Context, h http.Header, body []byte) (*fulfill.PaymentEvent, error)

	mu      sync.Mutex
	intents []fulfill.IntentRequest
}

// fakeEvent is the body of a fake gateway webhook.
type fakeEvent struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	OrderID  string `json:"order_id"`
	IntentID string `json:"intent_id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func (g *fakeGateway) Name() string { return g.name }

func (g *fakeGateway) CreateIntent(ctx context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	g.mu.Lock()
	g.intents = append(g.intents, req)
	g.mu.Unlock()
	if g.CreateIntentFunc != nil {
		return g.CreateIntentFunc(ctx, req)
	}
	return &fulfill.Intent{Provider: g.name, ID: "pi_" + req.OrderID, ClientSecret: "pi_" + req.OrderID + "_secret"}, nil
}

// localGateway is a fake gateway that keeps its intents in our own
// database, as the sandbox does (fulfill.InTxGateway): checkout opens the
// intent in the order's transaction.
type localGateway struct{ *fakeGateway }

func (g localGateway) CreateIntentTx(ctx context.Context, _ fulfill.Tx, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	return g.CreateIntent(ctx, req)
}

var _ fulfill.InTxGateway = localGateway{}

func (g *fakeGateway) calls() []fulfill.IntentRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]fulfill.IntentRequest(nil), g.intents...)
}

func (g *fakeGateway) Capture(context.Context, string, fulfill.Money) error { return nil }
func (g *fakeGateway) Void(context.Context, string) error                   { return nil }
func (g *fakeGateway) Refund(context.Context, string, fulfill.Money, string) (string, error) {
	return "re_1", nil
}

func (g *fakeGateway) ParseWebhook(ctx context.Context, h http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	if g.ParseWebhookFunc != nil {
		return g.ParseWebhookFunc(ctx, h, body)
	}
	if h.Get("X-Fake-Signature") != "ok" {
		return nil, fulfill.Errorf(fulfill.EUnauthenticated, "fake webhook signature does not match")
	}
	var e fakeEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fulfill.Errorf(fulfill.EInvalid, "fake webhook body is not an event")
	}
	typ := fulfill.PaymentEventOther
	if e.Type == "payment.succeeded" || e.Type == "payment.failed" {
		typ = fulfill.PaymentEventType(e.Type)
	}
	return &fulfill.PaymentEvent{Provider: g.name, EventID: e.ID, Type: typ, RawType: e.Type,
		OrderID: e.OrderID, IntentID: e.IntentID, Amount: fulfill.Money{Amount: e.Amount, Currency: e.Currency},
		OccurredAt: time.Now().UTC()}, nil
}

// testClock is a clock tests move.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UTC().UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// shopOpts tunes a shop.
type shopOpts struct {
	engine   string
	gateways []fulfill.Gateway
	rate     httpapi.RateLimit
	sandbox  app.SandboxPayments
	maxBody  int64
	clock    fulfill.Clock
	redis    *redis.Client
}

// shop is an API server with a catalog and a fake gateway "fake".
type shop struct {
	*env
	st    fulfill.Store
	gw    *fakeGateway
	clock *testClock
}

// openStore opens a fresh store of the engine.
func openStore(t testing.TB, engine string) fulfill.Store {
	t.Helper()
	ctx := t.Context()
	var st interface {
		fulfill.Store
		Migrate(context.Context) error
	}
	var err error
	switch engine {
	case "postgres":
		st, err = openPostgres(t)
	default:
		st, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "f.db"), Logger: quiet(), Queue: queue.Config{}})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// newShop starts a server with products WHEY (2499.00 INR), BAR (99.00 INR),
// USD-ITEM (10.00 USD) and OLD (inactive).
func newShop(t testing.TB, o shopOpts) *shop {
	t.Helper()
	ctx := t.Context()
	st := openStore(t, o.engine)
	gw := &fakeGateway{name: "fake"}
	gws := map[string]fulfill.Gateway{"fake": gw, "local": localGateway{&fakeGateway{name: "local"}}}
	for _, g := range o.gateways {
		gws[g.Name()] = g
	}
	clk := newTestClock()
	var clock fulfill.Clock = clk
	if o.clock != nil {
		clock = o.clock
	}
	a := app.New(st, app.Options{Logger: quiet(), Clock: clock, Gateways: gws, Sandbox: o.sandbox})
	t.Cleanup(func() { _ = a.Close() })
	admin, _, err := a.EnsureBootstrapKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merchant, _, err := a.CreateAPIKey(ctx, fulfill.RoleMerchant, "shop")
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{env: &env{t: t, app: a, admin: admin, merchant: merchant}, st: st, gw: gw, clock: clk}
	s.url = newShopOn(t, s, o)
	s.seedCatalog()
	return s
}

// newShopOn starts another API server on s's app and store (a second
// process of the same deployment) and returns its URL.
func newShopOn(t testing.TB, s *shop, o shopOpts) string {
	t.Helper()
	maxBody := o.maxBody
	if maxBody == 0 {
		maxBody = 8192
	}
	rate := o.rate
	if rate.PerIP == 0 && rate.PerKey == 0 {
		rate = httpapi.RateLimit{PerIP: -1, PerKey: -1}
	}
	cfg := httpapi.Config{App: s.app, Store: s.st, Logger: quiet(), MaxBodyBytes: maxBody, Version: "test", CheckoutRate: rate}
	if o.redis != nil {
		cfg.Redis = o.redis
	}
	srv := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(srv.Close)
	return srv.URL
}

// mustJSON marshals v.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *shop) seedCatalog() {
	s.t.Helper()
	off := false
	for _, p := range []app.ProductInput{
		{SKU: "WHEY", Name: "Whey Protein 2kg", Price: fulfill.Money{Amount: 249900, Currency: "INR"}},
		{SKU: "BAR", Name: "Protein Bar", Price: fulfill.Money{Amount: 9900, Currency: "INR"}},
		{SKU: "USD-ITEM", Name: "Imported", Price: fulfill.Money{Amount: 1000, Currency: "USD"}},
		{SKU: "OLD", Name: "Discontinued", Price: fulfill.Money{Amount: 100, Currency: "INR"}, Active: &off},
	} {
		if _, err := s.app.CreateProduct(s.t.Context(), "test", p); err != nil {
			s.t.Fatal(err)
		}
	}
}

// cart is a valid checkout body; change it with the returned map.
func cart() map[string]any { return cartFor("fake") }

// cartFor is cart paid through provider.
func cartFor(provider string) map[string]any {
	return map[string]any{
		"customer": map[string]any{"email": "john@example.com", "phone": "+919800000000", "name": "John"},
		"shipping_address": map[string]any{"name": "John", "line1": "1 MG Road", "city": "Bengaluru", "region": "KA",
			"postal_code": "560001", "country": "IN", "lat": 12.97, "lon": 77.59},
		"lines":    []any{map[string]any{"sku": "WHEY", "quantity": 1}, map[string]any{"sku": "BAR", "quantity": 3}},
		"currency": "INR",
		"payment":  map[string]any{"provider": provider, "capture": "automatic"},
	}
}

// send makes a request with headers; body is JSON unless it is a string or
// []byte.
func (s *shop) send(method, path, key string, body any, header map[string]string) response {
	s.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			s.t.Fatal(err)
		}
	}
	return sendRaw(s.t, s.url, method, path, key, raw, header)
}

// checkout posts body with an Idempotency-Key.
func (s *shop) checkout(key string, body any) response {
	s.t.Helper()
	return s.send("POST", "/v1/checkout", s.merchant, body, map[string]string{"Idempotency-Key": key})
}

// order is the part of an order the tests read.
type order struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Lines  []struct {
		SKU       string        `json:"sku"`
		Quantity  int64         `json:"quantity"`
		UnitPrice fulfill.Money `json:"unit_price"`
		Total     fulfill.Money `json:"total"`
	} `json:"lines"`
	Total   fulfill.Money `json:"total"`
	Payment struct {
		Provider     string `json:"provider"`
		IntentID     string `json:"intent_id"`
		ClientSecret string `json:"client_secret"`
		Capture      string `json:"capture"`
	} `json:"payment"`
	Allocations []any `json:"allocations"`
	Timeline    []struct {
		At    time.Time `json:"at"`
		From  string    `json:"from"`
		To    string    `json:"to"`
		Cause string    `json:"cause"`
	} `json:"timeline"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func decodeOrder(t testing.TB, r response) order {
	t.Helper()
	var o order
	if err := json.Unmarshal(r.body, &o); err != nil {
		t.Fatalf("order %s: %v", r.body, err)
	}
	return o
}

// orderCount counts every order through the API.
func (s *shop) orderCount() int {
	s.t.Helper()
	rows, _ := listAll[order](s.env, "/v1/orders?limit=1000")
	return len(rows)
}

// eventCount counts inbox events through the API.
func (s *shop) eventCount() int {
	s.t.Helper()
	rows, _ := listAll[fulfill.WebhookEvent](s.env, "/v1/webhooks/events?limit=1000")
	return len(rows)
}
