package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const apiKeyCols = `id, name, role, prefix, hash, created_at, revoked_at`

func scanAPIKey(row pgx.CollectableRow) (fulfill.APIKey, error) {
	var k fulfill.APIKey
	err := row.Scan(&k.ID, &k.Name, &k.Role, &k.Prefix, &k.Hash, &k.CreatedAt, &k.RevokedAt)
	utc(&k.CreatedAt)
	if k.RevokedAt != nil {
		utc(k.RevokedAt)
	}
	return k, err
}

// CreateAPIKey stores k. EAlreadyExists when its id or hash is taken.
func (t *tx) CreateAPIKey(ctx context.Context, k *fulfill.APIKey) error {
	k.CreatedAt = stamp(k.CreatedAt)
	var revoked *time.Time
	if k.RevokedAt != nil {
		r := stamp(*k.RevokedAt)
		revoked, k.RevokedAt = &r, &r
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		k.ID, k.Name, string(k.Role), k.Prefix, k.Hash, k.CreatedAt, revoked)
	if err != nil {
		return mapErr(err, "create API key")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	taken, err := t.exists(ctx, `SELECT 1 FROM api_keys WHERE id = $1`, k.ID)
	if err != nil {
		return err
	}
	if taken {
		return fulfill.FieldErrorf(fulfill.EAlreadyExists, "id", "an API key with id %q already exists", k.ID)
	}
	return fulfill.Errorf(fulfill.EAlreadyExists, "an API key with this secret already exists")
}

// APIKeyByHash finds a key (revoked or not) by its hash. ENotFound.
func (t *tx) APIKeyByHash(ctx context.Context, hash string) (*fulfill.APIKey, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash)
	k, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fulfill.Errorf(fulfill.ENotFound, "API key not found")
	}
	if err != nil {
		return nil, mapErr(err, "get API key")
	}
	return &k, nil
}

// ListAPIKeys returns keys in id order after page.After.
func (t *tx) ListAPIKeys(ctx context.Context, page fulfill.Page) ([]fulfill.APIKey, error) {
	var w where
	if page.After != "" {
		w.add("id > ?", page.After)
	}
	q := `SELECT ` + apiKeyCols + ` FROM api_keys` + w.sql() + ` ORDER BY id` + w.limit(pageLimit(page.Limit))
	rows, _ := t.tx.Query(ctx, q, w.args...)
	ks, err := pgx.CollectRows(rows, scanAPIKey)
	if err != nil {
		return nil, mapErr(err, "list API keys")
	}
	return ks, nil
}

// RevokeAPIKey marks a key revoked at at; revoking again keeps the first
// time. ENotFound.
func (t *tx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`,
		id, stamp(at))
	if err != nil {
		return mapErr(err, "revoke API key")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.FieldErrorf(fulfill.ENotFound, "id", "API key %q not found", id)
	}
	return nil
}
