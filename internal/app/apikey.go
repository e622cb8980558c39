package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// keyPrefix starts every API key secret, so that a leaked key is easy to
// recognise (and to scan for).
const keyPrefix = "ffk_"

// keyEncoding spells the random part of a secret: lower-case base32 without
// padding (52 characters for 32 bytes).
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// HashSecret returns the stored form of an API key secret: the SHA-256
// hash in hex.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// newSecret returns a fresh secret and its display prefix (the first 8
// characters after "ffk_").
func newSecret() (secret, prefix string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	body := keyEncoding.EncodeToString(b[:])
	return keyPrefix + body, body[:8]
}

// CreateAPIKey makes a new key with role and name and returns its secret,
// which is shown only this once. The actor is "system" (the command line);
// see CreateAPIKeyAs. EInvalid.
func (a *App) CreateAPIKey(ctx context.Context, role fulfill.Role, name string) (string, *fulfill.APIKey, error) {
	return a.CreateAPIKeyAs(ctx, ActorSystem, role, name)
}

// CreateAPIKeyAs is CreateAPIKey on behalf of actor (an API key id).
func (a *App) CreateAPIKeyAs(ctx context.Context, actor string, role fulfill.Role, name string) (string, *fulfill.APIKey, error) {
	var secret string
	var k *fulfill.APIKey
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		secret, k, err = a.createKey(ctx, tx, role, name)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	a.audit(ctx, actor, "key.create", "key", k.ID, "role", string(role))
	return secret, k, nil
}

// createKey validates and stores a key inside tx.
func (a *App) createKey(ctx context.Context, tx fulfill.Tx, role fulfill.Role, name string) (string, *fulfill.APIKey, error) {
	if !role.Valid() {
		return "", nil, fulfill.FieldErrorf(fulfill.EInvalid, "role", "role must be admin, merchant, device or carrier")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, fulfill.FieldErrorf(fulfill.EInvalid, "name", "name is required (at most 100 characters)")
	}
	now := a.clock.Now()
	secret, prefix := newSecret()
	k := &fulfill.APIKey{
		ID: fulfill.NewID("key", now), Name: name, Role: role,
		Prefix: prefix, Hash: HashSecret(secret), CreatedAt: now,
	}
	if err := tx.CreateAPIKey(ctx, k); err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// EnsureBootstrapKey creates an admin key named "bootstrap" when no key
// exists at all (revoked ones included) and returns its secret; otherwise it
// returns created false and no secret.
func (a *App) EnsureBootstrapKey(ctx context.Context) (string, bool, error) {
	var secret string
	err := a.store.Update(ctx, func(tx fulfill.Tx) error {
		keys, err := tx.ListAPIKeys(ctx, fulfill.Page{Limit: 1})
		if err != nil || len(keys) > 0 {
			return err
		}
		secret, _, err = a.createKey(ctx, tx, fulfill.RoleAdmin, "bootstrap")
		return err
	})
	if err != nil {
		return "", false, err
	}
	return secret, secret != "", nil
}

// Authenticate returns the key whose secret this is. EUnauthenticated when
// the secret is unknown or revoked.
func (a *App) Authenticate(ctx context.Context, secret string) (*fulfill.APIKey, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 200 {
		return nil, fulfill.Errorf(fulfill.EUnauthenticated, "API key is not valid")
	}
	var k *fulfill.APIKey
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		k, err = tx.APIKeyByHash(ctx, HashSecret(secret))
		return err
	})
	switch {
	case fulfill.IsCode(err, fulfill.ENotFound):
		return nil, fulfill.Errorf(fulfill.EUnauthenticated, "API key is not valid")
	case err != nil:
		return nil, err
	case k.RevokedAt != nil:
		return nil, fulfill.Errorf(fulfill.EUnauthenticated, "API key is revoked")
	}
	return k, nil
}

// ListAPIKeys returns one page of keys in id order (never their secrets).
func (a *App) ListAPIKeys(ctx context.Context, lp ListParams) ([]fulfill.APIKey, string, error) {
	page, limit, err := lp.storePage()
	if err != nil {
		return nil, "", err
	}
	var rows []fulfill.APIKey
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.ListAPIKeys(ctx, page)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(k fulfill.APIKey) string { return k.ID })
	return rows, next, nil
}

// RevokeAPIKey revokes a key; it stops working at once. ENotFound.
func (a *App) RevokeAPIKey(ctx context.Context, actor, id string) error {
	err := a.store.Update(ctx, func(tx fulfill.Tx) error { return tx.RevokeAPIKey(ctx, id, a.clock.Now()) })
	if err != nil {
		return err
	}
	a.audit(ctx, actor, "key.revoke", "key", id)
	return nil
}
