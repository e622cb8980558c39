package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// Idempotency error codes beyond the domain's: the HTTP layer maps them.
const (
	// EIdempotencyKeyReused is a key sent again with a different request:
	// 422.
	EIdempotencyKeyReused fulfill.ErrorCode = "idempotency_key_reused"
)

// Idempotency limits.
const (
	// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
	MaxIdempotencyKeyLen = 255
	// IdempotencyLock is how long an in-flight request owns its key; after
	// it (a crashed request) a retry may take the key over.
	IdempotencyLock = 60 * time.Second
)

// IdempotentRequest is a mutating API call that carried an
// Idempotency-Key. Scope is the API key id; the request hash covers the
// method, the path and the body.
type IdempotentRequest struct {
	Scope  string
	Key    string
	Method string
	Path   string
	Body   []byte
}

// hash is SHA-256 of method, path and body, each length-prefixed.
func (r IdempotentRequest) hash() string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(r.Method), []byte(r.Path), r.Body} {
		var n [8]byte
		l := uint64(len(part))
		for i := range n {
			n[i] = byte(l >> (56 - 8*i))
		}
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ValidateIdempotencyKey checks a key's length and characters (printable
// ASCII). An empty key is an error too; callers skip idempotency when the
// header is absent.
func ValidateIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return fulfill.FieldErrorf(fulfill.EInvalid, "Idempotency-Key", "Idempotency-Key must be 1-%d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return fulfill.FieldErrorf(fulfill.EInvalid, "Idempotency-Key", "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// IdempotencyStart is what BeginIdempotent decided: run the request (Replay
// false), or answer the stored response (Replay true, Status and Body).
type IdempotencyStart struct {
	Replay bool
	Status int
	Body   []byte
}

// BeginIdempotent claims the request's key in its own transaction. A new
// key, or a stale in-flight one taken over, means run the request. A done
// key with the same request hash means replay. EIdempotencyKeyReused when
// the key was used for a different request; EConflict while the first
// request is in flight; EInvalid for a bad key.
func (a *App) BeginIdempotent(ctx context.Context, req IdempotentRequest) (*IdempotencyStart, error) {
	if err := ValidateIdempotencyKey(req.Key); err != nil {
		return nil, err
	}
	now := a.clock.Now()
	rec := &fulfill.IdempotencyRecord{
		Scope: req.Scope, Key: req.Key, Method: req.Method, Path: req.Path, RequestHash: req.hash(),
		State: fulfill.IdemInFlight, CreatedAt: now, LockedUntil: now.Add(IdempotencyLock),
	}
	var start *IdempotencyStart
	// The claim needs no disk wait of its own: the response it guards is
	// stored by a later durable commit, which makes the claim durable too,
	// and a claim lost in a crash before that is one no answer was given for.
	err := fulfill.UpdateLazy(ctx, a.store, func(tx fulfill.Tx) error {
		old, err := tx.BeginIdempotency(ctx, rec)
		if err != nil || old == nil {
			start = &IdempotencyStart{}
			return err
		}
		start, err = a.decideExisting(ctx, tx, old, rec, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return start, nil
}

// decideExisting answers a key that is already stored.
func (a *App) decideExisting(ctx context.Context, tx fulfill.Tx, old, rec *fulfill.IdempotencyRecord, now time.Time) (*IdempotencyStart, error) {
	if old.RequestHash != rec.RequestHash {
		return nil, fulfill.FieldErrorf(EIdempotencyKeyReused, "Idempotency-Key",
			"this Idempotency-Key was used for a different request; use a new key for a new request")
	}
	if old.State == fulfill.IdemDone {
		return &IdempotencyStart{Replay: true, Status: old.StatusCode, Body: old.Body}, nil
	}
	if now.Before(old.LockedUntil) {
		return nil, fulfill.Errorf(fulfill.EConflict, "a request with this Idempotency-Key is in progress; retry later")
	}
	took, err := tx.TakeOverIdempotency(ctx, rec, now)
	if err != nil {
		return nil, err
	}
	if !took {
		return nil, fulfill.Errorf(fulfill.EConflict, "a request with this Idempotency-Key is in progress; retry later")
	}
	return &IdempotencyStart{}, nil
}

// FinishIdempotent stores the response of a request begun with
// BeginIdempotent, so that a retry replays it.
func (a *App) FinishIdempotent(ctx context.Context, scope, key string, status int, body []byte) error {
	return fulfill.UpdateShared(ctx, a.store, func(tx fulfill.Tx) error {
		return tx.FinishIdempotency(ctx, scope, key, status, body)
	})
}

// AbandonIdempotent forgets a begun key (the request failed on the server's
// side), so that a retry runs again.
func (a *App) AbandonIdempotent(ctx context.Context, scope, key string) error {
	return a.store.Update(ctx, func(tx fulfill.Tx) error {
		return tx.DeleteIdempotency(ctx, scope, key)
	})
}

// Idempotent lets a use case store the response of an idempotent request
// in its own transaction, so that its effect and the stored response
// commit together (a crash can't leave an order without its record). The
// HTTP layer puts one in the context with WithIdempotent; Render turns the
// use case's result into the status and body the client will get.
type Idempotent struct {
	Scope  string
	Key    string
	Render func(result any) (status int, body []byte, err error)

	mu        sync.Mutex
	pending   bool
	committed bool
	status    int
	body      []byte
}

type idempotentKey struct{}

// WithIdempotent returns ctx carrying idem.
func WithIdempotent(ctx context.Context, idem *Idempotent) context.Context {
	return context.WithValue(ctx, idempotentKey{}, idem)
}

// IdempotentFrom returns the request's Idempotent, or nil.
func IdempotentFrom(ctx context.Context) *Idempotent {
	idem, _ := ctx.Value(idempotentKey{}).(*Idempotent)
	return idem
}

// Committed reports the response stored together with the use case's
// effect, once its transaction committed.
func (i *Idempotent) Committed() (status int, body []byte, ok bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.status, i.body, i.committed
}

// finishInTx renders result and stores it as the response of the
// request's key inside tx; a no-op without an Idempotent in ctx.
func finishInTx(ctx context.Context, tx fulfill.Tx, result any) error {
	idem := IdempotentFrom(ctx)
	if idem == nil || idem.Render == nil {
		return nil
	}
	status, body, err := idem.Render(result)
	if err != nil {
		return fulfill.Wrap(err, "render idempotent response")
	}
	if err := tx.FinishIdempotency(ctx, idem.Scope, idem.Key, status, body); err != nil {
		return err
	}
	idem.mu.Lock()
	idem.pending, idem.status, idem.body = true, status, body
	idem.mu.Unlock()
	return nil
}

// markCommitted records that the transaction that ran finishInTx
// committed; call it after Update returned nil.
func markCommitted(ctx context.Context) {
	idem := IdempotentFrom(ctx)
	if idem == nil {
		return
	}
	idem.mu.Lock()
	idem.committed = idem.pending
	idem.mu.Unlock()
}

// PurgeIdempotencyArgs is the periodic job that forgets old
// Idempotency-Keys.
type PurgeIdempotencyArgs struct{}

// Kind names the job.
func (PurgeIdempotencyArgs) Kind() string { return "purge_idempotency" }

// PurgeIdempotency deletes records older than Options.IdempotencyTTL.
func (a *App) PurgeIdempotency(ctx context.Context, _ PurgeIdempotencyArgs) error {
	cutoff := a.clock.Now().Add(-a.opts.IdempotencyTTL)
	var n int64
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		n, err = tx.PurgeIdempotency(ctx, cutoff)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		a.log.InfoContext(ctx, "purged idempotency keys", "count", n, "cutoff", cutoff)
	}
	return nil
}
