package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

func sharedIntent(i int) *fulfill.SandboxIntent {
	return &fulfill.SandboxIntent{ID: fmt.Sprintf("pi_shared_%03d", i), OrderID: "ord_x",
		Amount: fulfill.Money{Amount: 100, Currency: "INR"}, Capture: fulfill.CaptureAutomatic, Status: "requires_payment"}
}

// holdWriter holds the store's writer in an Update until the returned
// function is called.
func holdWriter(t *testing.T, s *sqlite.Store) (release func()) {
	t.Helper()
	held, free, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(fulfill.Tx) error {
			close(held)
			<-free
			return nil
		})
	}()
	<-held
	return func() {
		close(free)
		if err := <-done; err != nil {
			t.Errorf("holding update: %v", err)
		}
	}
}

// waitShared waits until n UpdateShared calls queue behind the writer.
func waitShared(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sqlite.SharedWaiting(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls waiting", sqlite.SharedWaiting(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func intentExists(t *testing.T, s *sqlite.Store, id string) bool {
	t.Helper()
	err := s.View(t.Context(), func(tx fulfill.Tx) error {
		_, err := tx.GetSandboxIntent(t.Context(), id)
		return err
	})
	if err != nil && !fulfill.IsCode(err, fulfill.ENotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestUpdateSharedOneCommit: calls that wait behind a busy writer commit
// in one transaction; a call whose function fails loses only its own
// writes, and gets its own error at once.
func TestUpdateSharedOneCommit(t *testing.T) {
	t.Parallel()
	s := harness{}.Open(t, harness{}.NewDB(t), queue.Config{}).(*sqlite.Store)
	release := holdWriter(t, s)
	const n = 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.UpdateShared(t.Context(), func(tx fulfill.Tx) error {
				if err := tx.CreateSandboxIntent(t.Context(), sharedIntent(i)); err != nil {
					return err
				}
				if i%5 == 0 {
					return fulfill.Errorf(fulfill.EConflict, "call %d fails", i)
				}
				return nil
			})
		})
	}
	waitShared(t, s, n) // the leader (counted too) waits for the writer, the rest queue
	release()
	wg.Wait()
	for i, err := range errs {
		want := i%5 != 0
		if (err == nil) != want || (!want && !fulfill.IsCode(err, fulfill.EConflict)) {
			t.Errorf("call %d: %v", i, err)
		}
		if got := intentExists(t, s, sharedIntent(i).ID); got != want {
			t.Errorf("call %d: intent stored %v, want %v", i, got, want)
		}
	}
	if got := sqlite.SharedCommits(s); got != 1 {
		t.Errorf("%d commits for %d calls that waited together, want 1", got, n)
	}
}

// TestUpdateSharedPanicAndCancel: a function that panics re-panics in its
// own caller and a caller whose context ended before its turn gets the
// context's error; neither loses the work of the calls around it.
func TestUpdateSharedPanicAndCancel(t *testing.T) {
	t.Parallel()
	s := harness{}.Open(t, harness{}.NewDB(t), queue.Config{}).(*sqlite.Store)
	release := holdWriter(t, s)
	var wg sync.WaitGroup
	var panicked any
	var cancelErr error
	okErrs := make([]error, 2)
	create := func(i int) func(fulfill.Tx) error {
		return func(tx fulfill.Tx) error { return tx.CreateSandboxIntent(t.Context(), sharedIntent(i)) }
	}
	wg.Go(func() { okErrs[0] = s.UpdateShared(t.Context(), create(0)) })
	waitShared(t, s, 1)
	wg.Go(func() {
		defer func() { panicked = recover() }()
		_ = s.UpdateShared(t.Context(), func(tx fulfill.Tx) error {
			if err := create(1)(tx); err != nil {
				return err
			}
			panic("boom")
		})
	})
	waitShared(t, s, 2)
	ctx, cancel := context.WithCancel(t.Context())
	wg.Go(func() { cancelErr = s.UpdateShared(ctx, create(2)) })
	waitShared(t, s, 3)
	cancel()
	wg.Go(func() { okErrs[1] = s.UpdateShared(t.Context(), create(3)) })
	waitShared(t, s, 4)
	release()
	wg.Wait()
	if panicked != "boom" {
		t.Errorf("recovered %v, want the function's panic", panicked)
	}
	if !errors.Is(cancelErr, context.Canceled) {
		t.Errorf("cancelled call: %v", cancelErr)
	}
	for i, err := range okErrs {
		if err != nil {
			t.Errorf("call beside them %d: %v", i, err)
		}
	}
	for i, want := range []bool{true, false, false, true} {
		if got := intentExists(t, s, sharedIntent(i).ID); got != want {
			t.Errorf("intent %d stored %v, want %v", i, got, want)
		}
	}
}
