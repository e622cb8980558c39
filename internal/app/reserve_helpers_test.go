package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/postgres"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

// pgURLEnv names the PostgreSQL test database.
const pgURLEnv = "FULFILL_TEST_POSTGRES_URL"

// opener opens a fresh, migrated store of one engine for one test.
type opener func(tb testing.TB) fulfill.Store

// eachEngine runs fn as a subtest on SQLite and, when pgURLEnv is set, on
// PostgreSQL (each test its own schema).
func eachEngine(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, openSQLite)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		requirePostgres(t)
		fn(t, openPostgres)
	})
}

// requirePostgres skips (fails on CI) without a test database.
func requirePostgres(tb testing.TB) {
	tb.Helper()
	if os.Getenv(pgURLEnv) != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(pgURLEnv + " must be set on CI to run the PostgreSQL tests")
	}
	tb.Skip("set " + pgURLEnv + " to run the PostgreSQL tests")
}

func openSQLite(tb testing.TB) fulfill.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(tb.TempDir(), "f.db"), Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

func openPostgres(tb testing.TB) fulfill.Store {
	tb.Helper()
	url := os.Getenv(pgURLEnv)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fulfill_app_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() { dropSchema(tb, url, schema) })
	st, err := postgres.Open(context.Background(), postgres.Config{URL: url, Schema: schema, MaxConns: 8})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

func dropSchema(tb testing.TB, url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
	}
}

// payGateway is a hand-written gateway that records the calls of the
// payment jobs.
type payGateway struct {
	mu       sync.Mutex
	calls    []string
	VoidFunc func(intentID string) error
}

func (g *payGateway) record(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, s)
}

func (g *payGateway) count(prefix string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		if len(c) >= len(prefix) && c[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func (g *payGateway) Name() string { return "test" }
func (g *payGateway) CreateIntent(_ context.Context, r fulfill.IntentRequest) (*fulfill.Intent, error) {
	return &fulfill.Intent{Provider: "test", ID: "pi_" + r.OrderID}, nil
}
func (g *payGateway) Capture(_ context.Context, id string, _ fulfill.Money) error {
	g.record("capture " + id)
	return nil
}
func (g *payGateway) Void(_ context.Context, id string) error {
	g.record("void " + id)
	if g.VoidFunc != nil {
		return g.VoidFunc(id)
	}
	return nil
}
func (g *payGateway) Refund(_ context.Context, id string, _ fulfill.Money, _ string) (string, error) {
	g.record("refund " + id)
	return "re_" + id, nil
}

// ParseWebhook reads a JSON fulfill.PaymentEvent when the header
// X-Test-Signature is "ok" (deliver sends such bodies).
func (g *payGateway) ParseWebhook(_ context.Context, h http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	if h.Get("X-Test-Signature") != "ok" {
		return nil, fulfill.Errorf(fulfill.EUnauthenticated, "bad test signature")
	}
	var pe fulfill.PaymentEvent
	if err := json.Unmarshal(body, &pe); err != nil {
		return nil, fulfill.Errorf(fulfill.EInvalid, "test event: %v", err)
	}
	return &pe, nil
}

// deliver sends events through the webhook inbox (App.ReceiveWebhook) as
// a gateway would, in groups of group events sent at once; a group starts
// once the one before it is acknowledged.
func (f *fixture) deliver(evs []*fulfill.WebhookEvent, group int) error {
	for len(evs) > 0 {
		n := min(group, len(evs))
		errs := make(chan error, n)
		for _, e := range evs[:n] {
			go func() {
				body, err := json.Marshal(fulfill.PaymentEvent{EventID: e.EventID, Type: e.Type, RawType: e.RawType,
					OrderID: e.OrderID, IntentID: e.IntentID, Amount: e.Amount, OccurredAt: e.OccurredAt})
				if err == nil {
					_, _, err = f.a.ReceiveWebhook(f.ctx, "test", http.Header{"X-Test-Signature": {"ok"}}, body)
				}
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				return err
			}
		}
		evs = evs[n:]
	}
	return nil
}

// fixture is a store with an App on it and helpers that write through the
// store directly (not HTTP), so that tests measure the reservation stage.
type fixture struct {
	tb  testing.TB
	ctx context.Context
	st  fulfill.Store
	a   *app.App
	gw  *payGateway
	now time.Time
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFixture(tb testing.TB, st fulfill.Store, opts app.Options) *fixture {
	tb.Helper()
	gw := &payGateway{}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	opts.Gateways = map[string]fulfill.Gateway{"test": gw}
	a := app.New(st, opts)
	tb.Cleanup(func() { _ = a.Close() })
	return &fixture{tb: tb, ctx: context.Background(), st: st, a: a, gw: gw, now: time.Now().UTC()}
}

func (f *fixture) update(fn func(tx fulfill.Tx) error) {
	f.tb.Helper()
	if err := f.st.Update(f.ctx, fn); err != nil {
		f.tb.Fatal(err)
	}
}

// product creates a product priced 100 INR with an optional policy.
func (f *fixture) product(sku string, pol fulfill.OutOfStockPolicy) {
	f.tb.Helper()
	f.update(func(tx fulfill.Tx) error {
		return tx.CreateProduct(f.ctx, &fulfill.Product{SKU: sku, Name: sku, Price: fulfill.Money{Amount: 100, Currency: "INR"},
			Active: true, OutOfStockPolicy: pol, CreatedAt: f.now, UpdatedAt: f.now})
	})
}

// warehouse creates an active warehouse at a place with bins A-1-A-1 …
// A-1-A-<bins>, in pick sequence.
func (f *fixture) warehouse(code string, p fulfill.GeoPoint, bins int) {
	f.tb.Helper()
	f.update(func(tx fulfill.Tx) error {
		w := &fulfill.Warehouse{Code: code, Name: code, Latitude: p.Lat, Longitude: p.Lon, CutoffTime: "23:59",
			TimeZone: "Asia/Kolkata", Active: true, CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateWarehouse(f.ctx, w); err != nil {
			return err
		}
		for i := 1; i <= bins; i++ {
			b := &fulfill.Bin{Warehouse: code, Code: fmt.Sprintf("A-1-A-%d", i), Zone: "A", Aisle: "1", Rack: "A",
				Shelf: fmt.Sprint(i), PickSeq: int64(i), Active: true, CreatedAt: f.now, UpdatedAt: f.now}
			if err := tx.CreateBin(f.ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// stockP1 sets up the payment tests' catalog: product P-1 with 10 units
// in one bin of warehouse BLR (Bengaluru).
func (f *fixture) stockP1() {
	f.tb.Helper()
	f.product("P-1", "")
	f.warehouse("BLR", bengaluru, 1)
	f.receive("P-1", "BLR", 1, 10)
}

// receive receives stock through the store (no hooks).
func (f *fixture) receive(sku, wh string, bin int, n int64) {
	f.tb.Helper()
	f.update(func(tx fulfill.Tx) error {
		_, err := tx.MoveStock(f.ctx, fulfill.StockMovement{SKU: sku, Warehouse: wh, Bin: fmt.Sprintf("A-1-A-%d", bin),
			Kind: fulfill.MoveReceipt, OnHandDelta: n, Cause: "test receipt", Actor: "test", At: f.now})
		return err
	})
}

// orderSpec describes a test order.
type orderSpec struct {
	lines   []fulfill.AllocLine
	capture fulfill.CaptureMode
	addr    fulfill.Address
}

// newOrder builds a pending order of spec.
func (f *fixture) newOrder(spec orderSpec) *fulfill.Order {
	id := fulfill.NewID("ord", f.now)
	capture := spec.capture
	if capture == "" {
		capture = fulfill.CaptureAutomatic
	}
	o := &fulfill.Order{ID: id, Status: fulfill.StatusPendingPayment, Customer: fulfill.Customer{Email: "j@example.com"},
		ShippingAddress: spec.addr, Allocations: []fulfill.Allocation{},
		Payment:   fulfill.OrderPayment{Provider: "test", Capture: capture, IntentID: "pi_" + id},
		Timeline:  []fulfill.TimelineEntry{{At: f.now, To: fulfill.StatusPendingPayment, Cause: "checkout"}},
		CreatedAt: f.now, UpdatedAt: f.now}
	var total int64
	for _, l := range spec.lines {
		o.Lines = append(o.Lines, fulfill.OrderLine{SKU: l.SKU, Name: l.SKU, Quantity: l.Quantity,
			UnitPrice: fulfill.Money{Amount: 100, Currency: "INR"}, Total: fulfill.Money{Amount: 100 * l.Quantity, Currency: "INR"}})
		total += 100 * l.Quantity
	}
	o.Total = fulfill.Money{Amount: total, Currency: "INR"}
	return o
}

// orders creates n orders of spec in batches and returns them.
func (f *fixture) orders(n int, spec orderSpec) []*fulfill.Order {
	f.tb.Helper()
	out := make([]*fulfill.Order, n)
	for i := range out {
		out[i] = f.newOrder(spec)
	}
	for start := 0; start < n; start += 500 {
		f.update(func(tx fulfill.Tx) error {
			for _, o := range out[start:min(n, start+500)] {
				if err := tx.CreateOrder(f.ctx, o); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return out
}

// event builds a webhook event of type typ for o at time at.
func event(o *fulfill.Order, typ fulfill.PaymentEventType, at time.Time) *fulfill.WebhookEvent {
	return &fulfill.WebhookEvent{ID: fulfill.NewID("whk", at), Provider: "test", EventID: "evt_" + fulfill.NewID("e", at),
		Type: typ, RawType: string(typ), OrderID: o.ID, IntentID: o.Payment.IntentID, Amount: o.Total,
		OccurredAt: at, Payload: []byte("{}"), Status: fulfill.WebhookReceived, ReceivedAt: at}
}

// insertEvents stores events, each in its own transaction, concurrently.
func (f *fixture) insertEvents(evs []*fulfill.WebhookEvent) {
	f.tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(evs))
	for _, e := range evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.st.Update(f.ctx, func(tx fulfill.Tx) error {
				_, err := tx.InsertWebhookEvent(f.ctx, e)
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			f.tb.Fatal(err)
		}
	}
}

// insertEventsBatched stores events 500 to a transaction.
func (f *fixture) insertEventsBatched(evs []*fulfill.WebhookEvent) {
	f.tb.Helper()
	for start := 0; start < len(evs); start += 500 {
		f.update(func(tx fulfill.Tx) error {
			for _, e := range evs[start:min(len(evs), start+500)] {
				if _, err := tx.InsertWebhookEvent(f.ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// process runs n ProcessPayments at once.
func (f *fixture) process(n int) {
	f.tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.a.ProcessPayments(f.ctx, app.ProcessPaymentsArgs{})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			f.tb.Fatal(err)
		}
	}
}

// order reads one order.
func (f *fixture) order(id string) *fulfill.Order {
	f.tb.Helper()
	o, err := f.a.GetOrder(f.ctx, id)
	if err != nil {
		f.tb.Fatal(err)
	}
	return o
}

// jobs counts queued jobs of a kind.
func (f *fixture) jobs(kind string) int {
	f.tb.Helper()
	n, cursor := 0, ""
	for {
		js, next, err := f.st.Jobs().List(f.ctx, fulfill.JobFilter{Kind: kind, Limit: 1000, Cursor: cursor})
		if err != nil {
			f.tb.Fatal(err)
		}
		n += len(js)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// checkStock asserts the conservation invariant: for every bin and every
// SKU and warehouse, on hand = available + reserved, none negative; bins
// sum to levels; the ledger's deltas sum to each bin's figures; and when
// orders are given, their reservation rows sum to the reserved units.
func checkStock(tb testing.TB, st fulfill.Store, orderIDs []string) {
	tb.Helper()
	ctx := context.Background()
	err := st.View(ctx, func(tx fulfill.Tx) error {
		levels, err := tx.StockLevels(ctx, fulfill.StockFilter{})
		if err != nil {
			return err
		}
		bins, err := tx.BinStocks(ctx, fulfill.StockFilter{})
		if err != nil {
			return err
		}
		ledger, err := allLedger(ctx, tx)
		if err != nil {
			return err
		}
		checkFigures(tb, levels, bins, ledger)
		if orderIDs != nil {
			return checkReservations(ctx, tb, tx, bins, orderIDs)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func allLedger(ctx context.Context, tx fulfill.Tx) ([]fulfill.LedgerEntry, error) {
	var out []fulfill.LedgerEntry
	var after int64
	for {
		rows, err := tx.Ledger(ctx, fulfill.LedgerFilter{AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if len(rows) < 1000 {
			return out, nil
		}
		after = rows[len(rows)-1].ID
	}
}

type binKey struct{ sku, wh, bin string }

func checkFigures(tb testing.TB, levels []fulfill.StockLevel, bins []fulfill.BinStock, ledger []fulfill.LedgerEntry) {
	tb.Helper()
	sums := map[binKey][2]int64{}
	for _, e := range ledger {
		k := binKey{e.SKU, e.Warehouse, e.Bin}
		s := sums[k]
		sums[k] = [2]int64{s[0] + e.OnHandDelta, s[1] + e.ReservedDelta}
	}
	perWh := map[[2]string][3]int64{}
	for _, b := range bins {
		if b.OnHand != b.Available+b.Reserved || b.OnHand < 0 || b.Reserved < 0 || b.Available < 0 {
			tb.Fatalf("bin %+v breaks on hand = available + reserved, none negative", b)
		}
		if s := sums[binKey{b.SKU, b.Warehouse, b.Bin}]; s[0] != b.OnHand || s[1] != b.Reserved {
			tb.Fatalf("bin %+v: ledger sums to on hand %d reserved %d", b, s[0], s[1])
		}
		k := [2]string{b.SKU, b.Warehouse}
		w := perWh[k]
		perWh[k] = [3]int64{w[0] + b.OnHand, w[1] + b.Reserved, w[2] + b.Available}
	}
	for _, l := range levels {
		if l.OnHand != l.Available+l.Reserved || l.OnHand < 0 || l.Reserved < 0 || l.Available < 0 {
			tb.Fatalf("level %+v breaks the invariant", l)
		}
		if w := perWh[[2]string{l.SKU, l.Warehouse}]; w != [3]int64{l.OnHand, l.Reserved, l.Available} {
			tb.Fatalf("level %+v is not the sum of its bins %v", l, w)
		}
	}
}

func checkReservations(ctx context.Context, tb testing.TB, tx fulfill.Tx, bins []fulfill.BinStock, ids []string) error {
	tb.Helper()
	held := map[binKey]int64{}
	for _, id := range ids {
		rs, err := tx.Reservations(ctx, id)
		if err != nil {
			return err
		}
		for _, r := range rs {
			held[binKey{r.SKU, r.Warehouse, r.Bin}] += r.Quantity
		}
	}
	for _, b := range bins {
		if got := held[binKey{b.SKU, b.Warehouse, b.Bin}]; got != b.Reserved {
			tb.Fatalf("bin %+v: reservation rows hold %d", b, got)
		}
	}
	return nil
}

// ids returns the orders' ids.
func ids(os []*fulfill.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

// actionJobs returns the queued payment_actions jobs of one action.
func (f *fixture) actionJobs(act app.PaymentAction) []app.PaymentActionsArgs {
	f.tb.Helper()
	var out []app.PaymentActionsArgs
	cursor := ""
	for {
		js, next, err := f.st.Jobs().List(f.ctx, fulfill.JobFilter{Kind: app.PaymentActionsArgs{}.Kind(), Limit: 1000, Cursor: cursor})
		if err != nil {
			f.tb.Fatal(err)
		}
		for _, j := range js {
			var args app.PaymentActionsArgs
			if err := json.Unmarshal(j.Args, &args); err != nil {
				f.tb.Fatal(err)
			}
			if args.Action == act {
				out = append(out, args)
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// actionOrders counts the orders of the queued payment_actions jobs of one
// action.
func (f *fixture) actionOrders(act app.PaymentAction) int {
	n := 0
	for _, a := range f.actionJobs(act) {
		n += len(a.OrderIDs)
	}
	return n
}

// paidEvents makes one succeeded event per order, 100 µs apart.
func paidEvents(f *fixture, os []*fulfill.Order) []*fulfill.WebhookEvent {
	evs := make([]*fulfill.WebhookEvent, len(os))
	for i, o := range os {
		evs[i] = event(o, fulfill.PaymentSucceeded, f.now.Add(time.Duration(i)*100*time.Microsecond))
	}
	return evs
}
