package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/postgres"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/storetest"
)

const urlEnv = "FULFILL_TEST_POSTGRES_URL"

// harness gives each test its own schema in the database at url.
type harness struct{ url string }

// newHarness skips (or, on CI, fails) when no test database is configured.
func newHarness(tb testing.TB) harness {
	tb.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(urlEnv + " must be set on CI to run the PostgreSQL tests")
		}
		tb.Skip("set " + urlEnv + " to run the PostgreSQL tests")
	}
	return harness{url: url}
}

// NewDB names a fresh schema (Open creates it) and drops it at clean-up,
// after every store on it has closed.
func (h harness) NewDB(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fulfill_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, h.url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// Open opens and migrates a store on schema db. A small pool keeps many
// parallel tests under the server's connection limit.
func (h harness) Open(tb testing.TB, db string, q queue.Config) fulfill.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), postgres.Config{URL: h.url, Schema: db, MaxConns: 8, Queue: q})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(tb.Context()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newHarness(t))
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, newHarness(b))
}

// TestLedgerIsAppendOnly checks the database itself refuses to change or
// delete a ledger row, whatever the code above does.
func TestLedgerIsAppendOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.Open(t, h.NewDB(t), queue.Config{}).(*postgres.Store)
	err := s.Update(t.Context(), func(tx fulfill.Tx) error {
		ctx := t.Context()
		if err := tx.CreateProduct(ctx, &fulfill.Product{SKU: "P1", Name: "P", Price: fulfill.Money{Currency: "INR"}}); err != nil {
			return err
		}
		w := &fulfill.Warehouse{Code: "W1", Name: "W", CutoffTime: "16:00", TimeZone: "UTC"}
		if err := tx.CreateWarehouse(ctx, w); err != nil {
			return err
		}
		if err := tx.CreateBin(ctx, &fulfill.Bin{Warehouse: "W1", Code: "A-1-1-1", Zone: "A", Aisle: "1", Rack: "1", Shelf: "1"}); err != nil {
			return err
		}
		_, err := tx.MoveStock(ctx, fulfill.StockMovement{SKU: "P1", Warehouse: "W1", Bin: "A-1-1-1", Kind: fulfill.MoveReceipt, OnHandDelta: 3})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE stock_ledger SET on_hand_delta = 4", "DELETE FROM stock_ledger"} {
		if _, err := s.Pool().Exec(t.Context(), q); err == nil {
			t.Errorf("%s succeeded on the append-only ledger", q)
		}
	}
}

// TestUnreachable checks that a database that does not answer is
// "unavailable", at open and at ping.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	const url = "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"
	_, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: "s"})
	if !fulfill.IsCode(err, fulfill.EUnavailable) {
		t.Errorf("Open with a schema = %v, want unavailable", err)
	}
	s, err := postgres.Open(t.Context(), postgres.Config{URL: url})
	if err != nil {
		t.Fatalf("Open without a schema connects lazily, got %v", err)
	}
	defer func() { _ = s.Close() }()
	if err := s.Ping(t.Context()); !fulfill.IsCode(err, fulfill.EUnavailable) {
		t.Errorf("Ping = %v, want unavailable", err)
	}
	if err := s.View(t.Context(), func(fulfill.Tx) error { return nil }); !fulfill.IsCode(err, fulfill.EUnavailable) {
		t.Errorf("View = %v, want unavailable", err)
	}
}

// TestPoolSizes: 20 write and 5 read connections by default; the URL's
// pool_max_conns sizes the write pool and the read pool follows, unless
// Config says otherwise; pool_min_conns never exceeds a pool's maximum.
// (Nothing here connects: the address is unreachable and pools connect
// lazily.)
func TestPoolSizes(t *testing.T) {
	t.Parallel()
	const url = "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1"
	for _, c := range []struct {
		name                 string
		url                  string
		cfg                  postgres.Config
		write, read, minRead int32
	}{
		{"defaults", url, postgres.Config{}, 20, 5, 0},
		{"URL", url + "&pool_max_conns=12&pool_min_conns=4", postgres.Config{}, 12, 3, 3},
		{"small", url + "&pool_max_conns=4", postgres.Config{}, 4, 2, 0},
		{"config", url + "&pool_max_conns=12", postgres.Config{MaxConns: 8, MaxReadConns: 6}, 8, 6, 0},
	} {
		c.cfg.URL = c.url
		s, err := postgres.Open(t.Context(), c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		w, r := s.Pool().Config(), postgres.ReadPool(s).Config()
		if w.MaxConns != c.write || r.MaxConns != c.read || r.MinConns != c.minRead {
			t.Errorf("%s: write %d, read %d (min %d), want %d, %d (min %d)", c.name, w.MaxConns, r.MaxConns, r.MinConns, c.write, c.read, c.minRead)
		}
		if r.ConnConfig.RuntimeParams["default_transaction_read_only"] != "on" || w.ConnConfig.RuntimeParams["default_transaction_read_only"] != "" {
			t.Errorf("%s: only the read pool's connections are read-only", c.name)
		}
		_ = s.Close()
	}
}
