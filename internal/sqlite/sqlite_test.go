package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
	"github.com/fulfill-dev/fulfill/internal/storetest"
)

// harness gives each test its own database file in a temporary folder.
type harness struct{}

func (harness) NewDB(t testing.TB) string { return filepath.Join(t.TempDir(), "fulfill.db") }

func (harness) Open(t testing.TB, db string, q queue.Config) fulfill.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: db, Queue: q, Logger: q.Logger})
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness{})
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, harness{}) }

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []sqlite.Config{
		{Path: ""},
		{Path: filepath.Join(t.TempDir(), "x.db"), Synchronous: "sometimes"},
		{Path: filepath.Join(t.TempDir(), "x.db?mode=ro")},
	} {
		if _, err := sqlite.Open(t.Context(), cfg); !fulfill.IsCode(err, fulfill.EInvalid) {
			t.Errorf("Open(%+v) = %v, want invalid", cfg, err)
		}
	}
	_, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "missing", "dir", "x.db")})
	if !fulfill.IsCode(err, fulfill.EUnavailable) {
		t.Errorf("Open in a missing folder = %v, want unavailable", err)
	}
}

// TestMigrateTwiceAndFull checks that migrations are idempotent and that
// synchronous=FULL opens.
func TestMigrateTwiceAndFull(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "full.db")
	for range 2 {
		s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path, Synchronous: "full"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}
