package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

var sandboxTests = map[string]func(*testing.T, Harness){
	"Intents":         testSandboxIntents,
	"DueIntents":      testDueSandboxIntents,
	"DueIntentsSplit": testDueSandboxIntentsSplit,
}

func testSandboxIntents(t *testing.T, h Harness) {
	s := open(t, h)
	si := &fulfill.SandboxIntent{ID: "sbx_1", OrderID: "ord_a", Amount: inr(309800), Capture: fulfill.CaptureManual,
		Email: "john@example.com", Status: "requires_payment", CreatedAt: ts, UpdatedAt: ts,
		AutoConfirmAt: tp(ts.Add(100 * time.Millisecond))}
	update(t, s, func(tx fulfill.Tx) error { return tx.CreateSandboxIntent(t.Context(), si) })
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		dup := *si
		return tx.CreateSandboxIntent(t.Context(), &dup)
	}), fulfill.EAlreadyExists)
	get := func() *fulfill.SandboxIntent {
		var got *fulfill.SandboxIntent
		update(t, s, func(tx fulfill.Tx) (err error) {
			got, err = tx.GetSandboxIntent(t.Context(), "sbx_1")
			return err
		})
		return got
	}
	sameIntent(t, get(), si)
	next := *si
	next.Status, next.Refunded, next.UpdatedAt, next.AutoConfirmAt = "succeeded", 1000, ts.Add(time.Minute), nil
	update(t, s, func(tx fulfill.Tx) error { return tx.UpdateSandboxIntent(t.Context(), &next, "requires_payment") })
	sameIntent(t, get(), &next)
	stale := next
	stale.Status = "failed"
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.UpdateSandboxIntent(t.Context(), &stale, "requires_payment")
	}), fulfill.EConflict)
	sameIntent(t, get(), &next)
	missing := next
	missing.ID = "sbx_missing"
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.UpdateSandboxIntent(t.Context(), &missing, "succeeded")
	}), fulfill.ENotFound)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		_, err := tx.GetSandboxIntent(t.Context(), "sbx_missing")
		return err
	}), fulfill.ENotFound)
}

// sameIntent fails t unless got equals want, times compared as instants.
func sameIntent(t testing.TB, got, want *fulfill.SandboxIntent) {
	t.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Fatalf("intent times = %v/%v, want %v/%v", g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
	if (g.AutoConfirmAt == nil) != (w.AutoConfirmAt == nil) ||
		(g.AutoConfirmAt != nil && !g.AutoConfirmAt.Equal(*w.AutoConfirmAt)) {
		t.Fatalf("intent auto_confirm_at = %v, want %v", g.AutoConfirmAt, w.AutoConfirmAt)
	}
	g.CreatedAt, g.UpdatedAt, g.AutoConfirmAt = w.CreatedAt, w.UpdatedAt, w.AutoConfirmAt
	if g != w {
		t.Fatalf("intent = %+v, want %+v", g, w)
	}
}

// createIntents stores intents of the given status, each due at its time
// (nil: never).
func createIntents(t testing.TB, s fulfill.Store, status string, due map[string]*time.Time) {
	t.Helper()
	update(t, s, func(tx fulfill.Tx) error {
		for id, at := range due {
			si := &fulfill.SandboxIntent{ID: id, OrderID: "ord_" + id, Amount: inr(100), Capture: fulfill.CaptureAutomatic,
				Status: status, CreatedAt: ts, UpdatedAt: ts, AutoConfirmAt: at}
			if err := tx.CreateSandboxIntent(t.Context(), si); err != nil {
				return err
			}
		}
		return nil
	})
}

func intentIDs(sis []*fulfill.SandboxIntent) []string {
	ids := make([]string, len(sis))
	for i, si := range sis {
		ids[i] = si.ID
	}
	return ids
}

// testDueSandboxIntents: only intents still requiring payment whose time
// has come (inclusive), earliest first then by id, at most limit, in a
// write and in a read transaction alike.
func testDueSandboxIntents(t *testing.T, h Harness) {
	s := open(t, h)
	createIntents(t, s, "requires_payment", map[string]*time.Time{
		"sbx_a": tp(ts), "sbx_b": tp(ts.Add(time.Second)), "sbx_c": tp(ts.Add(-time.Second)),
		"sbx_d": tp(ts.Add(-time.Second)), "sbx_never": nil, "sbx_later": tp(ts.Add(time.Hour)),
	})
	createIntents(t, s, "succeeded", map[string]*time.Time{"sbx_paid": tp(ts.Add(-time.Hour))})
	due := func(now time.Time, n int, read bool) []string {
		t.Helper()
		var got []*fulfill.SandboxIntent
		fn := func(tx fulfill.Tx) (err error) {
			got, err = tx.DueSandboxIntents(t.Context(), now, n)
			return err
		}
		if read {
			view(t, s, fn)
		} else {
			update(t, s, fn)
		}
		return intentIDs(got)
	}
	for _, read := range []bool{false, true} {
		if got, want := due(ts.Add(time.Second), 10, read), []string{"sbx_c", "sbx_d", "sbx_a", "sbx_b"}; !slices.Equal(got, want) {
			t.Fatalf("due (read %v) = %v, want %v", read, got, want)
		}
		if got, want := due(ts.Add(time.Second), 2, read), []string{"sbx_c", "sbx_d"}; !slices.Equal(got, want) {
			t.Fatalf("due with limit 2 (read %v) = %v, want %v", read, got, want)
		}
		if got := due(ts.Add(-2*time.Second), 10, read); len(got) != 0 {
			t.Fatalf("due before any (read %v) = %v, want none", read, got)
		}
	}
	var a *fulfill.SandboxIntent
	update(t, s, func(tx fulfill.Tx) (err error) {
		sis, err := tx.DueSandboxIntents(t.Context(), ts, 10)
		if err != nil || len(sis) != 3 {
			return fmt.Errorf("due at ts = %v, %w", intentIDs(sis), err)
		}
		a = sis[2]
		a.Status = "succeeded"
		return tx.UpdateSandboxIntent(t.Context(), a, "requires_payment")
	})
	if a.ID != "sbx_a" || a.AutoConfirmAt == nil || !a.AutoConfirmAt.Equal(ts) || a.Amount != inr(100) || a.OrderID != "ord_sbx_a" {
		t.Fatalf("due intent read back as %+v", a)
	}
	if got, want := due(ts.Add(time.Hour), 10, false), []string{"sbx_c", "sbx_d", "sbx_b", "sbx_later"}; !slices.Equal(got, want) {
		t.Fatalf("due after settling sbx_a = %v, want %v", got, want)
	}
}

// testDueSandboxIntentsSplit: sweepers running at once, each settling what
// it took with a guarded update, take every due intent exactly once and
// never hit a conflict.
func testDueSandboxIntentsSplit(t *testing.T, h Harness) {
	s := open(t, h)
	due := map[string]*time.Time{}
	for i := range 60 {
		due[fmt.Sprintf("sbx_%03d", i)] = tp(ts.Add(time.Duration(i) * time.Millisecond))
	}
	createIntents(t, s, "requires_payment", due)
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				var n int
				err := s.Update(t.Context(), func(tx fulfill.Tx) error {
					sis, err := tx.DueSandboxIntents(t.Context(), ts.Add(time.Hour), 7)
					n = len(sis)
					for _, si := range sis {
						si.Status = "succeeded"
						if err := tx.UpdateSandboxIntent(t.Context(), si, "requires_payment"); err != nil {
							return err
						}
					}
					mu.Lock()
					defer mu.Unlock()
					for _, si := range sis {
						taken[si.ID]++
					}
					return err
				})
				if err != nil {
					t.Errorf("sweep: %v", err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(taken) != len(due) {
		t.Fatalf("%d intents taken, want %d", len(taken), len(due))
	}
	for id, n := range taken {
		if n != 1 {
			t.Fatalf("intent %s taken %d times", id, n)
		}
	}
}
