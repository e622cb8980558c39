package sqlite

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPragmas checks the connection settings the engine's guarantees rest
// on: WAL, the synchronous level, foreign keys, and read-only readers.
func TestPragmas(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for _, c := range []struct {
		pragma string
		writer string
		reader string
	}{
		{"journal_mode", "wal", "wal"},
		{"synchronous", "1", ""}, // 1 = NORMAL
		{"foreign_keys", "1", "1"},
		{"query_only", "0", "1"},
		{"busy_timeout", "5000", "5000"},
		{"wal_autocheckpoint", "0", ""}, // the checkpointer's job
	} {
		var w, r string
		if err := s.writer.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&w); err != nil {
			t.Fatal(err)
		}
		if err := s.reader.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&r); err != nil {
			t.Fatal(err)
		}
		if w != c.writer || (c.reader != "" && r != c.reader) {
			t.Errorf("PRAGMA %s = writer %q reader %q, want %q %q", c.pragma, w, r, c.writer, c.reader)
		}
	}
	if _, err := s.reader.ExecContext(t.Context(), "CREATE TABLE x (a INTEGER)"); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

// TestLedgerAppendOnly checks that the database itself refuses to change or
// delete ledger rows.
func TestLedgerAppendOnly(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO products (sku, name, price_amount, price_currency, created_at, updated_at) VALUES ('P', 'P', 1, 'INR', '', '')`,
		`INSERT INTO warehouses (code, name, cutoff_time, time_zone, created_at, updated_at) VALUES ('W', 'W', '16:00', 'UTC', '', '')`,
		`INSERT INTO bins (warehouse, code, zone, aisle, rack, shelf, created_at, updated_at) VALUES ('W', 'A-1-1-1', 'A', '1', '1', '1', '', '')`,
		`INSERT INTO stock_ledger (sku, warehouse, bin, kind, on_hand_delta, reserved_delta, on_hand_after, reserved_after, at)
		 VALUES ('P', 'W', 'A-1-1-1', 'receipt', 1, 0, 1, 0, '')`,
	} {
		if _, err := s.writer.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, q := range []string{`UPDATE stock_ledger SET on_hand_delta = 5`, `DELETE FROM stock_ledger`} {
		if _, err := s.writer.ExecContext(t.Context(), q); err == nil {
			t.Errorf("%s succeeded on the append-only ledger", q)
		}
	}
}

func TestFailedColumn(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"constraint failed: UNIQUE constraint failed: products.barcode (2067)": "barcode",
		"UNIQUE constraint failed: bins.warehouse, bins.code":                  "code",
		"something else": "",
	} {
		if got := failedColumn(msg); got != want {
			t.Errorf("failedColumn(%q) = %q, want %q", msg, got, want)
		}
	}
}

// TestCheckpointer: with the writer's automatic checkpoint off, the
// checkpointer still copies committed pages into the database file while
// the store is open, so the WAL does not hold the data for good.
func TestCheckpointer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.writer.ExecContext(t.Context(), "CREATE TABLE x (a BLOB)"); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path)
	for range 50 {
		if _, err := s.writer.ExecContext(t.Context(), "INSERT INTO x VALUES (randomblob(8192))"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) < before+50*8192 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes, was %d: nothing checkpointed in 10s", fileSize(t, path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
