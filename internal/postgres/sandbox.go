package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const sandboxCols = `id, order_id, amount, currency, capture, email, status, refunded, created_at, updated_at`

// CreateSandboxIntent stores a sandbox intent. EAlreadyExists (found by
// ON CONFLICT DO NOTHING, so the transaction stays usable).
func (t *tx) CreateSandboxIntent(ctx context.Context, si *fulfill.SandboxIntent) error {
	si.CreatedAt, si.UpdatedAt = stamp(si.CreatedAt), stamp(si.UpdatedAt)
	tag, err := t.tx.Exec(ctx, `INSERT INTO sandbox_intents (`+sandboxCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		si.ID, si.OrderID, si.Amount.Amount, si.Amount.Currency, string(si.Capture), si.Email, si.Status,
		si.Refunded, si.CreatedAt, si.UpdatedAt)
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
	rows, _ := t.tx.Query(ctx, `SELECT `+sandboxCols+` FROM sandbox_intents WHERE id = $1`+t.forUpdate(), id)
	sis, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.SandboxIntent, error) {
		var si fulfill.SandboxIntent
		err := row.Scan(&si.ID, &si.OrderID, &si.Amount.Amount, &si.Amount.Currency, &si.Capture, &si.Email,
			&si.Status, &si.Refunded, &si.CreatedAt, &si.UpdatedAt)
		utc(&si.CreatedAt)
		utc(&si.UpdatedAt)
		return si, err
	})
	if err != nil {
		return nil, mapErr(err, "get sandbox intent")
	}
	if len(sis) == 0 {
		return nil, fulfill.Errorf(fulfill.ENotFound, "sandbox intent %q not found", id)
	}
	return &sis[0], nil
}

// UpdateSandboxIntent saves si if its stored status is still expected.
// ENotFound; EConflict when the status moved.
func (t *tx) UpdateSandboxIntent(ctx context.Context, si *fulfill.SandboxIntent, expected string) error {
	si.UpdatedAt = stamp(si.UpdatedAt)
	tag, err := t.tx.Exec(ctx, `UPDATE sandbox_intents SET order_id = $2, amount = $3, currency = $4,
		capture = $5, email = $6, status = $7, refunded = $8, updated_at = $9 WHERE id = $1 AND status = $10`,
		si.ID, si.OrderID, si.Amount.Amount, si.Amount.Currency, string(si.Capture), si.Email, si.Status,
		si.Refunded, si.UpdatedAt, expected)
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
