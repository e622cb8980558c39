package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// tx is one transaction's view of the store.
//
// A note that shapes many queries below: a failed statement aborts a whole
// PostgreSQL transaction (every later statement fails until rollback),
// whereas SQLite carries on. So that callers may react to an expected
// domain error (already_exists, not_found, insufficient_stock) and go on
// in the same transaction on both engines, the expected failures are
// detected without raising a database error: INSERT … ON CONFLICT DO
// NOTHING, INSERT … SELECT … WHERE EXISTS, guarded UPDATEs, and a zero row
// count explained afterwards. Constraints still stand behind them.
type tx struct {
	// tx runs the statements: the transaction of Update, or in View a
	// connection whose statements are read-only transactions each.
	tx querier
	// ptx is Update's transaction, which a job commits in; nil in View.
	ptx pgx.Tx
	q   *queue.Queue[pgx.Tx]
	// allocKey is the advisory lock of LockAllocator, per schema.
	allocKey int64
}

// readOnly reports a View's tx: row locks (FOR UPDATE) are refused
// there, and a reader needs none.
func (t *tx) readOnly() bool { return t.ptx == nil }

// forUpdate returns " FOR UPDATE" in a read-write transaction.
func (t *tx) forUpdate() string {
	if t.readOnly() {
		return ""
	}
	return " FOR UPDATE"
}

var _ fulfill.Tx = (*tx)(nil)

// writable refuses work that needs Update's transaction in a View.
func (t *tx) writable(what string) error {
	if t.readOnly() {
		return fulfill.Errorf(fulfill.EInternal, "%s: write in a read-only transaction", what)
	}
	return nil
}

// querier is what a pgx.Tx and a pooled connection both run.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Enqueue adds a job that commits or rolls back with this transaction.
func (t *tx) Enqueue(ctx context.Context, args fulfill.JobArgs, opts *fulfill.JobOpts) error {
	if err := t.writable("enqueue " + args.Kind()); err != nil {
		return err
	}
	return t.q.Insert(ctx, t.ptx, args, opts)
}

// exists runs a SELECT EXISTS(…) query.
func (t *tx) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var ok bool
	if err := t.tx.QueryRow(ctx, "SELECT EXISTS ("+query+")", args...).Scan(&ok); err != nil {
		return false, mapErr(err, "check existence")
	}
	return ok, nil
}

// pageLimit applies the store's page size rules: 0 means 100, at most 1000.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// stamp returns t in UTC at the microsecond precision of timestamptz, or
// now when t is zero, so that what is written reads back equal.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// micro returns t in UTC at microsecond precision, zero staying zero.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// utc converts a scanned timestamptz (pgx gives local time) to UTC.
func utc(t *time.Time) { *t = t.UTC() }

// where builds a conjunction of conditions with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose "?" stands for v.
func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.Replace(cond, "?", fmt.Sprintf("$%d", len(w.args)), 1))
}

// sql returns " WHERE a AND b" or "".
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limit appends a LIMIT clause for n rows.
func (w *where) limit(n int) string {
	w.args = append(w.args, n)
	return fmt.Sprintf(" LIMIT $%d", len(w.args))
}
