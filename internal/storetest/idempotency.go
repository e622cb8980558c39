package storetest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

var idempotencyTests = map[string]func(*testing.T, Harness){
	"BeginFinishDelete": testIdemBeginFinish,
	"TakeOver":          testIdemTakeOver,
	"Purge":             testIdemPurge,
	"RaceOneWinner":     testIdemRace,
}

func newIdem(scope, key, hash string) *fulfill.IdempotencyRecord {
	return &fulfill.IdempotencyRecord{
		Scope: scope, Key: key, Method: "POST", Path: "/v1/checkout", RequestHash: hash,
		State: fulfill.IdemInFlight, CreatedAt: ts, LockedUntil: ts.Add(time.Minute),
	}
}

// begin runs BeginIdempotency in its own Update.
func begin(t testing.TB, s fulfill.Store, rec *fulfill.IdempotencyRecord) *fulfill.IdempotencyRecord {
	t.Helper()
	var got *fulfill.IdempotencyRecord
	update(t, s, func(tx fulfill.Tx) (err error) {
		got, err = tx.BeginIdempotency(t.Context(), rec)
		return err
	})
	return got
}

func sameIdem(t testing.TB, got, want *fulfill.IdempotencyRecord) {
	t.Helper()
	if got == nil {
		t.Fatalf("record = nil, want %+v", want)
	}
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.LockedUntil.Equal(w.LockedUntil) || !bytes.Equal(g.Body, w.Body) {
		t.Fatalf("record = %+v, want %+v", g, w)
	}
	if !equalIdem(g, w) {
		t.Fatalf("record = %+v, want %+v", g, w)
	}
}

func equalIdem(a, b fulfill.IdempotencyRecord) bool {
	return a.Scope == b.Scope && a.Key == b.Key && a.Method == b.Method && a.Path == b.Path &&
		a.RequestHash == b.RequestHash && a.State == b.State && a.StatusCode == b.StatusCode
}

func testIdemBeginFinish(t *testing.T, h Harness) {
	s := open(t, h)
	first := newIdem("key_1", "k1", "hash-a")
	if got := begin(t, s, first); got != nil {
		t.Fatalf("first Begin = %+v, want nil", got)
	}
	// Same key, other body: nothing inserted, the first record returned.
	sameIdem(t, begin(t, s, newIdem("key_1", "k1", "hash-b")), first)
	// Keys are scoped: another API key may use the same one.
	if got := begin(t, s, newIdem("key_2", "k1", "hash-b")); got != nil {
		t.Fatalf("Begin in another scope = %+v, want nil", got)
	}
	body := []byte(`{"id":"ord_1"}` + "\n")
	update(t, s, func(tx fulfill.Tx) error {
		return tx.FinishIdempotency(t.Context(), "key_1", "k1", 201, body)
	})
	done := *first
	done.State, done.StatusCode, done.Body = fulfill.IdemDone, 201, body
	sameIdem(t, begin(t, s, newIdem("key_1", "k1", "hash-a")), &done)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.FinishIdempotency(t.Context(), "key_1", "missing", 200, nil)
	}), fulfill.ENotFound)
	update(t, s, func(tx fulfill.Tx) error {
		if err := tx.DeleteIdempotency(t.Context(), "key_1", "k1"); err != nil {
			return err
		}
		return tx.DeleteIdempotency(t.Context(), "key_1", "never-existed")
	})
	if got := begin(t, s, newIdem("key_1", "k1", "hash-c")); got != nil {
		t.Fatalf("Begin after Delete = %+v, want nil", got)
	}
}

func takeOver(t testing.TB, s fulfill.Store, rec *fulfill.IdempotencyRecord, now time.Time) bool {
	t.Helper()
	var ok bool
	update(t, s, func(tx fulfill.Tx) (err error) {
		ok, err = tx.TakeOverIdempotency(t.Context(), rec, now)
		return err
	})
	return ok
}

func testIdemTakeOver(t *testing.T, h Harness) {
	s := open(t, h)
	begin(t, s, newIdem("key_1", "k1", "hash-a")) // locked until ts+1m
	retry := newIdem("key_1", "k1", "hash-b")
	retry.CreatedAt, retry.LockedUntil = ts.Add(2*time.Minute), ts.Add(3*time.Minute)
	if takeOver(t, s, retry, ts.Add(30*time.Second)) {
		t.Fatal("took over a record still locked")
	}
	if !takeOver(t, s, retry, ts.Add(2*time.Minute)) {
		t.Fatal("did not take over an expired in-flight record")
	}
	sameIdem(t, begin(t, s, newIdem("key_1", "k1", "hash-c")), retry)
	update(t, s, func(tx fulfill.Tx) error {
		return tx.FinishIdempotency(t.Context(), "key_1", "k1", 200, []byte("ok"))
	})
	if takeOver(t, s, newIdem("key_1", "k1", "hash-d"), ts.Add(time.Hour)) {
		t.Fatal("took over a done record")
	}
	if takeOver(t, s, newIdem("key_1", "missing", "hash-d"), ts.Add(time.Hour)) {
		t.Fatal("took over a missing record")
	}
}

func testIdemPurge(t *testing.T, h Harness) {
	s := open(t, h)
	for i, key := range []string{"old", "mid", "new"} {
		rec := newIdem("key_1", key, "h")
		rec.CreatedAt = ts.Add(time.Duration(i) * time.Hour)
		if key == "new" {
			rec.CreatedAt = ts.Add(3 * time.Hour)
		}
		begin(t, s, rec)
	}
	var n int64
	update(t, s, func(tx fulfill.Tx) (err error) {
		n, err = tx.PurgeIdempotency(t.Context(), ts.Add(90*time.Minute))
		return err
	})
	if n != 2 {
		t.Fatalf("purged %d, want 2", n)
	}
	if begin(t, s, newIdem("key_1", "new", "h")) == nil {
		t.Fatal("the recent record was purged")
	}
	if got := begin(t, s, newIdem("key_1", "old", "h")); got != nil {
		t.Fatalf("old record survived the purge: %+v", got)
	}
}

// testIdemRace: 50 concurrent first requests with one key; exactly one
// begins.
func testIdemRace(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 50
	var winners atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var got *fulfill.IdempotencyRecord
			err := s.Update(t.Context(), func(tx fulfill.Tx) (err error) {
				got, err = tx.BeginIdempotency(t.Context(), newIdem("key_1", "race", "h"))
				return err
			})
			switch {
			case err != nil:
				t.Errorf("Begin: %v", err)
			case got == nil:
				winners.Add(1)
			case got.State != fulfill.IdemInFlight || got.RequestHash != "h":
				t.Errorf("loser saw %+v", got)
			}
		})
	}
	wg.Wait()
	if w := winners.Load(); w != 1 {
		t.Fatalf("%d requests began, want exactly 1", w)
	}
}
