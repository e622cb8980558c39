package sqlite

import (
	"context"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const apiKeyCols = `id, name, role, prefix, hash, created_at, revoked_at`

func scanAPIKey(s scanner) (*fulfill.APIKey, error) {
	var k fulfill.APIKey
	var role string
	err := s.Scan(&k.ID, &k.Name, &role, &k.Prefix, &k.Hash, timeCol{&k.CreatedAt}, nullTimeCol{&k.RevokedAt})
	k.Role = fulfill.Role(role)
	return &k, err
}

// CreateAPIKey stores k. EAlreadyExists for a taken id or hash.
func (t *txn) CreateAPIKey(ctx context.Context, k *fulfill.APIKey) error {
	if err := t.writable("create API key"); err != nil {
		return err
	}
	k.CreatedAt = orNow(k.CreatedAt)
	var revoked any
	if k.RevokedAt != nil {
		revoked = formatTime(*k.RevokedAt)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, string(k.Role), k.Prefix, k.Hash, formatTime(k.CreatedAt), revoked)
	return mapErr(err, "API key")
}

// APIKeyByHash finds a key by its hash. ENotFound.
func (t *txn) APIKeyByHash(ctx context.Context, hash string) (*fulfill.APIKey, error) {
	k, err := scanAPIKey(t.tx.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash))
	if err != nil {
		return nil, mapErr(err, "API key")
	}
	return k, nil
}

// ListAPIKeys returns keys in id order after page.After.
func (t *txn) ListAPIKeys(ctx context.Context, page fulfill.Page) ([]fulfill.APIKey, error) {
	return list(ctx, t.tx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id > ? ORDER BY id LIMIT ?`,
		[]any{page.After, limit(page.Limit)}, "API keys", scanAPIKey)
}

// RevokeAPIKey marks a key revoked at at; revoking again keeps the first
// time. ENotFound.
func (t *txn) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if err := t.writable("revoke API key"); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		formatTime(orNow(at)), id)
	return affected(res, err, "API key")
}

// Enqueue inserts a job into River's table inside this transaction.
func (t *txn) Enqueue(ctx context.Context, args fulfill.JobArgs, opts *fulfill.JobOpts) error {
	if err := t.writable("enqueue " + args.Kind()); err != nil {
		return err
	}
	return t.q.Insert(ctx, t.tx, args, opts)
}
