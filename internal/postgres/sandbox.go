package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const sandboxCols = `id, order_id, amount, currency, capture, email, status, refunded, created_at, updated_at,
	auto_confirm_at`

func scanSandboxIntent(row pgx.CollectableRow) (*fulfill.SandboxIntent, error) {
	var si fulfill.SandboxIntent
	err := row.Scan(&si.ID, &si.OrderID, &si.Amount.Amount, &si.Amount.Currency, &si.Capture, &si.Email,
		&si.Status, &si.Refunded, &si.CreatedAt, &si.UpdatedAt, &si.AutoConfirmAt)
	utc(&si.CreatedAt)
	utc(&si.UpdatedAt)
	utcPtr(si.AutoConfirmAt)
	return &si, err
}

// CreateSandboxIntent stores a sandbox intent. EAlreadyExists (found by
// ON CONFLICT DO NOTHING, so the transaction stays usable).
func (t *tx) CreateSandboxIntent(ctx context.Context, si *fulfill.SandboxIntent) error {
	si.CreatedAt, si.UpdatedAt = stamp(si.CreatedAt), stamp(si.UpdatedAt)
	si.AutoConfirmAt = stampPtr(si.AutoConfirmAt)
	tag, err := t.tx.Exec(ctx, `INSERT INTO sandbox_intents (`+sandboxCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		si.ID, si.OrderID, si.Amount.Amount, si.Amount.Currency, string(si.Capture), si.Email, si.Status,
		si.Refunded, si.CreatedAt, si.UpdatedAt, si.AutoConfirmAt)
	if err != nil {
		return mapErr(err, "create sandbox intent")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.FieldErrorf(fulfill.EAlreadyExists, "id", "sandbox intent %q already exists", si.ID)
	}
	return nil
}

// GetSandboxIntent returns one intent, locked FOR UPDATE in a read-write
// transaction (so that two confirmations of one intent take turns).
// ENotFound.
func (t *tx) GetSandboxIntent(ctx context.Context, id string) (*fulfill.SandboxIntent, error) {
	sis, err := t.sandboxIntents(ctx, "get sandbox intent",
		`SELECT `+sandboxCols+` FROM sandbox_intents WHERE id = $1`+t.forUpdate(), id)
	if err != nil {
		return nil, err
	}
	if len(sis) == 0 {
		return nil, fulfill.Errorf(fulfill.ENotFound, "sandbox intent %q not found", id)
	}
	return sis[0], nil
}

// UpdateSandboxIntent saves si if its stored status is still expected.
// ENotFound; EConflict when the status moved.
func (t *tx) UpdateSandboxIntent(ctx context.Context, si *fulfill.SandboxIntent, expected string) error {
	si.UpdatedAt, si.AutoConfirmAt = stamp(si.UpdatedAt), stampPtr(si.AutoConfirmAt)
	tag, err := t.tx.Exec(ctx, `UPDATE sandbox_intents SET order_id = $2, amount = $3, currency = $4,
		capture = $5, email = $6, status = $7, refunded = $8, updated_at = $9, auto_confirm_at = $10
		WHERE id = $1 AND status = $11`,
		si.ID, si.OrderID, si.Amount.Amount, si.Amount.Currency, string(si.Capture), si.Email, si.Status,
		si.Refunded, si.UpdatedAt, si.AutoConfirmAt, expected)
	if err != nil {
		return mapErr(err, "update sandbox intent")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	found, err := t.exists(ctx, `SELECT 1 FROM sandbox_intents WHERE id = $1`, si.ID)
	if err != nil {
		return err
	}
	if !found {
		return fulfill.Errorf(fulfill.ENotFound, "sandbox intent %q not found", si.ID)
	}
	return fulfill.Errorf(fulfill.EConflict, "sandbox intent %s is no longer %s", si.ID, expected)
}

// DueSandboxIntents returns up to limit intents still requiring payment
// whose auto_confirm_at has come, the earliest first, from index
// sandbox_intents_auto_confirm_idx (the status is a literal so that even a
// generic plan proves the partial index's WHERE). In a read-write
// transaction they are locked FOR UPDATE SKIP LOCKED: processes sweeping
// at once take disjoint intents instead of queueing behind each other, and
// an intent a manual confirmation holds is left to it (its guarded update
// then settles it once).
func (t *tx) DueSandboxIntents(ctx context.Context, now time.Time, n int) ([]*fulfill.SandboxIntent, error) {
	lock := " FOR UPDATE SKIP LOCKED"
	if t.readOnly() {
		lock = ""
	}
	return t.sandboxIntents(ctx, "due sandbox intents", `SELECT `+sandboxCols+` FROM sandbox_intents
		WHERE status = 'requires_payment' AND auto_confirm_at <= $1
		ORDER BY auto_confirm_at, id LIMIT $2`+lock, now, pageLimit(n))
}

// sandboxIntents runs a query of sandbox intents.
func (t *tx) sandboxIntents(ctx context.Context, what, q string, args ...any) ([]*fulfill.SandboxIntent, error) {
	rows, _ := t.tx.Query(ctx, q, args...)
	sis, err := pgx.CollectRows(rows, scanSandboxIntent)
	if err != nil {
		return nil, mapErr(err, what)
	}
	return sis, nil
}
