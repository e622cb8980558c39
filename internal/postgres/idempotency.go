package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const idemCols = `scope, key, method, path, request_hash, state, status_code, body, created_at, locked_until`

func scanIdem(row pgx.CollectableRow) (fulfill.IdempotencyRecord, error) {
	var r fulfill.IdempotencyRecord
	err := row.Scan(&r.Scope, &r.Key, &r.Method, &r.Path, &r.RequestHash, &r.State, &r.StatusCode,
		&r.Body, &r.CreatedAt, &r.LockedUntil)
	utc(&r.CreatedAt)
	utc(&r.LockedUntil)
	return r, err
}

// BeginIdempotency inserts rec as in flight, or returns the stored record
// of (Scope, Key) and inserts nothing. The primary key decides the race:
// ON CONFLICT DO NOTHING (which waits for a concurrent inserter to commit
// or roll back), then a read of the winner in a new statement, whose
// snapshot sees it. Should the winner vanish in between (deleted or
// purged), the insert is tried again.
func (t *tx) BeginIdempotency(ctx context.Context, rec *fulfill.IdempotencyRecord) (*fulfill.IdempotencyRecord, error) {
	rec.CreatedAt, rec.LockedUntil, rec.State = stamp(rec.CreatedAt), micro(rec.LockedUntil), fulfill.IdemInFlight
	for range 3 {
		tag, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (`+idemCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
			rec.Scope, rec.Key, rec.Method, rec.Path, rec.RequestHash, string(rec.State), rec.StatusCode,
			rec.Body, rec.CreatedAt, rec.LockedUntil)
		if err != nil {
			return nil, mapErr(err, "begin idempotency key")
		}
		if tag.RowsAffected() == 1 {
			return nil, nil
		}
		rows, _ := t.tx.Query(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE scope = $1 AND key = $2`,
			rec.Scope, rec.Key)
		got, err := pgx.CollectRows(rows, scanIdem)
		if err != nil {
			return nil, mapErr(err, "begin idempotency key")
		}
		if len(got) == 1 {
			return &got[0], nil
		}
	}
	return nil, fulfill.Errorf(fulfill.EConflict, "idempotency key %q keeps changing; retry", rec.Key)
}

// TakeOverIdempotency replaces an in-flight record whose lock expired
// before now with rec (in flight), and reports whether it did. The guarded
// UPDATE lets one of two racing retries win.
func (t *tx) TakeOverIdempotency(ctx context.Context, rec *fulfill.IdempotencyRecord, now time.Time) (bool, error) {
	rec.CreatedAt, rec.LockedUntil, rec.State = stamp(rec.CreatedAt), micro(rec.LockedUntil), fulfill.IdemInFlight
	tag, err := t.tx.Exec(ctx, `UPDATE idempotency_keys SET method = $3, path = $4, request_hash = $5,
		state = $6, status_code = $7, body = $8, created_at = $9, locked_until = $10
		WHERE scope = $1 AND key = $2 AND state = $6 AND locked_until < $11`,
		rec.Scope, rec.Key, rec.Method, rec.Path, rec.RequestHash, string(rec.State), rec.StatusCode, rec.Body,
		rec.CreatedAt, rec.LockedUntil, now)
	if err != nil {
		return false, mapErr(err, "take over idempotency key")
	}
	return tag.RowsAffected() == 1, nil
}

// FinishIdempotency stores the response of (scope, key) and marks it done.
// ENotFound.
func (t *tx) FinishIdempotency(ctx context.Context, scope, key string, status int, body []byte) error {
	tag, err := t.tx.Exec(ctx, `UPDATE idempotency_keys SET state = $3, status_code = $4, body = $5
		WHERE scope = $1 AND key = $2`, scope, key, string(fulfill.IdemDone), status, body)
	if err != nil {
		return mapErr(err, "finish idempotency key")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.Errorf(fulfill.ENotFound, "idempotency key %q not found", key)
	}
	return nil
}

// DeleteIdempotency forgets (scope, key); a missing key is not an error.
func (t *tx) DeleteIdempotency(ctx context.Context, scope, key string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key)
	return mapErr(err, "delete idempotency key")
}

// PurgeIdempotency deletes records created before cutoff.
func (t *tx) PurgeIdempotency(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr(err, "purge idempotency keys")
	}
	return tag.RowsAffected(), nil
}
