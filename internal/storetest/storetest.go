// Package storetest is the conformance suite of fulfill.Store: every storage
// engine (SQLite, PostgreSQL) runs Run and Bench through its own Harness, so
// both engines are held to the same behaviour and the same error codes.
//
// The suite contains no SQL. Each subtest calls t.Parallel() and works on
// its own fresh database from Harness.NewDB.
//
// Beyond the doc comments of fulfill.Store and fulfill.Tx, the suite checks
// two properties the code above the store relies on:
//   - a MoveStock that fails with EInsufficient writes nothing (no ledger
//     row, no empty bin-stock row) and leaves the transaction usable, so a
//     caller may try another bin and still commit;
//   - ListBins's page.After is the code of the last bin of the previous page
//     (the store resumes after that bin's pick sequence and code).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// Harness makes databases for one engine and opens stores on them.
type Harness interface {
	// NewDB returns the identifier (a file path, a schema name…) of a fresh,
	// empty database isolated from every other test's. It registers any
	// clean-up with t.Cleanup.
	NewDB(t testing.TB) string
	// Open opens a store on db with queue configuration q, applies all
	// migrations, and registers the store's Close with t.Cleanup. The same
	// db may be opened again after a Close (restart tests); the suite may
	// Close a store itself, so the cleanup must tolerate a second Close.
	Open(t testing.TB, db string, q queue.Config) fulfill.Store
}

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	groups := []struct {
		name  string
		tests map[string]func(*testing.T, Harness)
	}{
		{"Product", productTests},
		{"Warehouse", warehouseTests},
		{"Bin", binTests},
		{"Stock", stockTests},
		{"APIKey", apiKeyTests},
		{"Tx", txTests},
		{"Job", jobTests},
		{"Order", orderTests},
		{"Idempotency", idempotencyTests},
		{"Webhook", webhookTests},
		{"Reservation", reservationTests},
		{"Batch", batchTests},
		{"Sandbox", sandboxTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for name, fn := range g.tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, h)
				})
			}
		})
	}
}

// open returns a migrated store on a fresh database with an insert-only
// queue.
func open(t *testing.T, h Harness) fulfill.Store {
	t.Helper()
	return h.Open(t, h.NewDB(t), queue.Config{Logger: quietLogger()})
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ts is a fixed timestamp with microsecond precision (what both engines keep).
var ts = time.Date(2026, 11, 1, 10, 30, 0, 123456000, time.UTC)

func update(t testing.TB, s fulfill.Store, fn func(fulfill.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s fulfill.Store, fn func(fulfill.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantCode fails t unless err carries code.
func wantCode(t testing.TB, err error, code fulfill.ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want code %s", code)
	}
	if got := fulfill.ErrorCodeOf(err); got != code {
		t.Fatalf("error code = %s (%v), want %s", got, err, code)
	}
	var fe *fulfill.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *fulfill.Error", err)
	}
}

// updateErr runs fn in an Update and returns the error of Update.
func updateErr(t testing.TB, s fulfill.Store, fn func(fulfill.Tx) error) error {
	t.Helper()
	return s.Update(t.Context(), fn)
}

// gtin returns a valid GTIN-13 built from n.
func gtin(n int) string {
	body := fmt.Sprintf("%012d", n)
	return body + string(fulfill.GTINCheckDigit(body))
}

func newProduct(sku string) *fulfill.Product {
	return &fulfill.Product{
		SKU: sku, Name: "Product " + sku,
		Price:        fulfill.Money{Amount: 129900, Currency: "INR"},
		WeightGrams:  2000,
		DimensionsMM: fulfill.Dimensions{Length: 300, Width: 200, Height: 100},
		Active:       true, CreatedAt: ts, UpdatedAt: ts,
	}
}

func newWarehouse(code string) *fulfill.Warehouse {
	return &fulfill.Warehouse{
		Code: code, Name: "Warehouse " + code,
		Address: fulfill.Address{
			Name: "Dock", Line1: "12 Ring Road", Line2: "Gate 3", City: "Bengaluru",
			Region: "KA", PostalCode: "560001", Country: "IN", Lat: 12.9716, Lon: 77.5946,
		},
		Latitude: 12.9716, Longitude: 77.5946, CutoffTime: "16:00", TimeZone: "Asia/Kolkata",
		Active: true, CreatedAt: ts, UpdatedAt: ts,
	}
}

func newBin(wh, zone, aisle string, seq int64) *fulfill.Bin {
	b := &fulfill.Bin{
		Warehouse: wh, Zone: zone, Aisle: aisle, Rack: "C", Shelf: "4",
		PickSeq: seq, Active: true, CreatedAt: ts, UpdatedAt: ts,
	}
	b.Code = fulfill.BinCode(b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position)
	return b
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startJobs starts s's queue and stops it at clean-up (before Close, which
// was registered earlier).
func startJobs(t testing.TB, s fulfill.Store) {
	t.Helper()
	if err := s.Jobs().Start(t.Context()); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Jobs().Stop(ctx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
}

// counter counts calls by key, safe for concurrent use.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
	return c.n[k]
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *counter) set(k string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k] = n
}
