package sqlite

import (
	"context"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const sandboxCols = `id, order_id, amount, currency, capture, email, status, refunded, created_at, updated_at,
	auto_confirm_at`

func scanSandboxIntent(s scanner) (*fulfill.SandboxIntent, error) {
	var si fulfill.SandboxIntent
	err := s.Scan(&si.ID, &si.OrderID, &si.Amount.Amount, &si.Amount.Currency, &si.Capture, &si.Email, &si.Status,
		&si.Refunded, timeCol{&si.CreatedAt}, timeCol{&si.UpdatedAt}, nullTimeCol{&si.AutoConfirmAt})
	return &si, err
}

// CreateSandboxIntent stores a sandbox intent. EAlreadyExists.
func (t *txn) CreateSandboxIntent(ctx context.Context, si *fulfill.SandboxIntent) error {
	if err := t.writable("create sandbox intent"); err != nil {
		return err
	}
	si.CreatedAt, si.UpdatedAt = orNow(si.CreatedAt), orNow(si.UpdatedAt)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO sandbox_intents (`+sandboxCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, si.ID, si.OrderID, si.Amount.Amount, si.Amount.Currency,
		string(si.Capture), si.Email, si.Status, si.Refunded, formatTime(si.CreatedAt), formatTime(si.UpdatedAt),
		nullTime(si.AutoConfirmAt))
	return mapErr(err, "sandbox intent")
}

// GetSandboxIntent returns one intent (the write lock of the transaction
// is its lock). ENotFound.
func (t *txn) GetSandboxIntent(ctx context.Context, id string) (*fulfill.SandboxIntent, error) {
	si, err := scanSandboxIntent(t.tx.QueryRowContext(ctx, `SELECT `+sandboxCols+` FROM sandbox_intents WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr(err, "sandbox intent")
	}
	return si, nil
}

// UpdateSandboxIntent saves si if its stored status is still expected.
// ENotFound; EConflict when the status moved.
func (t *txn) UpdateSandboxIntent(ctx context.Context, si *fulfill.SandboxIntent, expected string) error {
	if err := t.writable("update sandbox intent"); err != nil {
		return err
	}
	si.UpdatedAt = orNow(si.UpdatedAt)
	res, err := t.tx.ExecContext(ctx, `UPDATE sandbox_intents SET order_id = ?, amount = ?, currency = ?,
		capture = ?, email = ?, status = ?, refunded = ?, updated_at = ?, auto_confirm_at = ?
		WHERE id = ? AND status = ?`,
		si.OrderID, si.Amount.Amount, si.Amount.Currency, string(si.Capture), si.Email, si.Status, si.Refunded,
		formatTime(si.UpdatedAt), nullTime(si.AutoConfirmAt), si.ID, expected)
	err = affected(res, err, "sandbox intent")
	if !fulfill.IsCode(err, fulfill.ENotFound) {
		return err
	}
	if _, gerr := t.GetSandboxIntent(ctx, si.ID); gerr != nil {
		return gerr
	}
	return fulfill.Errorf(fulfill.EConflict, "sandbox intent %s is no longer %s", si.ID, expected)
}

// DueSandboxIntents returns up to limit intents still requiring payment
// whose auto_confirm_at has come, the earliest first. It reads index
// sandbox_intents_auto_confirm_idx: the status is a literal, not a
// parameter, because SQLite uses a partial index only when the query's
// terms match its WHERE as written (statements are prepared once and
// cached). In a write transaction the database's single write lock is the
// intents' lock.
func (t *txn) DueSandboxIntents(ctx context.Context, now time.Time, n int) ([]*fulfill.SandboxIntent, error) {
	out, err := list(ctx, t.tx, `SELECT `+sandboxCols+` FROM sandbox_intents
		WHERE status = 'requires_payment' AND auto_confirm_at <= ?
		ORDER BY auto_confirm_at, id LIMIT ?`, []any{formatTime(now), limit(n)}, "due sandbox intents", scanSandboxIntent)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*fulfill.SandboxIntent, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return ptrs, nil
}
