package sqlite

import (
	"context"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const idemCols = `scope, key, method, path, request_hash, state, status_code, body, created_at, locked_until`

// BeginIdempotency inserts rec as in flight, or returns the stored record
// of (Scope, Key) and inserts nothing. The primary key decides the race:
// ON CONFLICT DO NOTHING, then a read of the winner.
func (t *txn) BeginIdempotency(ctx context.Context, rec *fulfill.IdempotencyRecord) (*fulfill.IdempotencyRecord, error) {
	if err := t.writable("begin idempotency"); err != nil {
		return nil, err
	}
	rec.CreatedAt, rec.State = orNow(rec.CreatedAt), fulfill.IdemInFlight
	res, err := t.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idemCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING`,
		rec.Scope, rec.Key, rec.Method, rec.Path, rec.RequestHash, string(rec.State), rec.StatusCode,
		rec.Body, formatTime(rec.CreatedAt), formatTime(rec.LockedUntil))
	if err != nil {
		return nil, mapErr(err, "idempotency key")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return nil, mapErr(err, "idempotency key")
	}
	var got fulfill.IdempotencyRecord
	err = t.tx.QueryRowContext(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE scope = ? AND key = ?`,
		rec.Scope, rec.Key).Scan(&got.Scope, &got.Key, &got.Method, &got.Path, &got.RequestHash, &got.State,
		&got.StatusCode, &got.Body, timeCol{&got.CreatedAt}, timeCol{&got.LockedUntil})
	if err != nil {
		return nil, mapErr(err, "idempotency key")
	}
	return &got, nil
}

// TakeOverIdempotency replaces an in-flight record whose lock expired
// before now with rec (in flight), and reports whether it did.
func (t *txn) TakeOverIdempotency(ctx context.Context, rec *fulfill.IdempotencyRecord, now time.Time) (bool, error) {
	if err := t.writable("take over idempotency key"); err != nil {
		return false, err
	}
	rec.CreatedAt, rec.State = orNow(rec.CreatedAt), fulfill.IdemInFlight
	res, err := t.tx.ExecContext(ctx, `UPDATE idempotency_keys SET method = ?, path = ?, request_hash = ?,
		state = ?, status_code = ?, body = ?, created_at = ?, locked_until = ?
		WHERE scope = ? AND key = ? AND state = ? AND locked_until < ?`,
		rec.Method, rec.Path, rec.RequestHash, string(rec.State), rec.StatusCode, rec.Body,
		formatTime(rec.CreatedAt), formatTime(rec.LockedUntil),
		rec.Scope, rec.Key, string(fulfill.IdemInFlight), formatTime(now))
	if err != nil {
		return false, mapErr(err, "idempotency key")
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err, "idempotency key")
}

// FinishIdempotency stores the response of (scope, key) and marks it done.
// ENotFound.
func (t *txn) FinishIdempotency(ctx context.Context, scope, key string, status int, body []byte) error {
	if err := t.writable("finish idempotency key"); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = ?, status_code = ?, body = ?
		WHERE scope = ? AND key = ?`, string(fulfill.IdemDone), status, body, scope, key)
	return affected(res, err, "idempotency key")
}

// DeleteIdempotency forgets (scope, key); a missing key is not an error.
func (t *txn) DeleteIdempotency(ctx context.Context, scope, key string) error {
	if err := t.writable("delete idempotency key"); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key)
	return mapErr(err, "idempotency key")
}

// PurgeIdempotency deletes records created before cutoff.
func (t *txn) PurgeIdempotency(ctx context.Context, cutoff time.Time) (int64, error) {
	if err := t.writable("purge idempotency keys"); err != nil {
		return 0, err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, formatTime(cutoff))
	if err != nil {
		return 0, mapErr(err, "purge idempotency keys")
	}
	n, err := res.RowsAffected()
	return n, mapErr(err, "purge idempotency keys")
}
