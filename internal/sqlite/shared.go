package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/fulfill-dev/fulfill"
)

// maxShared is the most functions one shared transaction runs.
const maxShared = 64

// sharedCall is one UpdateShared waiting for its commit.
type sharedCall struct {
	ctx  context.Context
	fn   func(fulfill.Tx) error
	done chan error
	// lead tells a waiter that it runs the next shared transaction.
	lead chan struct{}
	// panicked is what fn panicked with, re-raised in the caller.
	panicked any
}

// sharer queues UpdateShared calls: one caller at a time leads, runs the
// calls waiting when it holds the writer in one transaction and commits,
// while the next group gathers; then it hands the lead to the first
// waiter and returns. One caller alone waits for no one.
type sharer struct {
	mu      sync.Mutex
	waiting []*sharedCall
	busy    bool
	commits atomic.Int64 // shared transactions committed (for tests)
}

// UpdateShared runs fn in a savepoint of a write transaction shared with
// the UpdateShared calls of the same moment, and returns once that
// transaction committed (nil), or as soon as fn failed (its error; its
// writes undone, the others' kept). Most of a small transaction's cost on
// SQLite is its commit (every page it changed goes to the WAL), and
// concurrent small transactions change the same pages: checkouts that
// waited behind a payment batch commit together instead of one by one.
// A caller whose ctx ends before its fn starts gets ctx's error; once fn
// runs, ctx no longer interrupts its statements (see fulfill.SharedUpdater).
func (s *Store) UpdateShared(ctx context.Context, fn func(fulfill.Tx) error) error {
	c := &sharedCall{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	sh := &s.shared
	sh.mu.Lock()
	sh.waiting = append(sh.waiting, c)
	if !sh.busy {
		sh.busy = true
		c.lead <- struct{}{}
	}
	sh.mu.Unlock()
	for {
		select {
		case err := <-c.done:
			if c.panicked != nil {
				panic(c.panicked)
			}
			return err
		case <-c.lead:
			s.leadShared()
		}
	}
}

// leadShared runs one shared transaction (more when one is lost half-way)
// and passes the lead on, or ends it when nobody waits.
func (s *Store) leadShared() {
	sh := &s.shared
	// The group is taken once the writer is ours: callers that arrive
	// while it is busy (a payment batch, River) join this commit.
	tx, err := s.writer.BeginTx(context.Background(), nil)
	sh.mu.Lock()
	n := min(len(sh.waiting), maxShared)
	group := sh.waiting[:n:n]
	sh.waiting = sh.waiting[n:]
	sh.mu.Unlock()
	for len(group) > 0 {
		if err != nil {
			for _, c := range group {
				c.done <- mapErr(err, "begin transaction")
			}
			break
		}
		group = s.runShared(tx, group)
		if len(group) > 0 {
			tx, err = s.writer.BeginTx(context.Background(), nil)
		}
	}
	sh.mu.Lock()
	if len(sh.waiting) > 0 {
		sh.waiting[0].lead <- struct{}{}
	} else {
		sh.busy = false
	}
	sh.mu.Unlock()
}

// runShared runs group's functions in tx, each in a savepoint, and
// commits. It answers every call it ran; if the transaction was lost (SQLite
// rolls a transaction back on some errors), the calls whose work it held
// get an error and the calls not yet run are returned to run in a new one.
func (s *Store) runShared(tx *sql.Tx, group []*sharedCall) (notRun []*sharedCall) {
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	t := &txn{tx: tx, q: s.q, s: s}
	if len(group) == 1 {
		return s.runAlone(tx, t, group[0])
	}
	var kept []*sharedCall
	lost := func(err error) {
		for _, c := range kept {
			c.done <- fulfill.Wrap(err, "shared transaction lost")
		}
	}
	bg := context.Background()
	for i, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.done <- err
			continue
		}
		if _, err := tx.ExecContext(bg, `SAVEPOINT shared`); err != nil {
			lost(err)
			return group[i:]
		}
		ferr := runCall(t, c)
		if ferr == nil {
			if _, err := tx.ExecContext(bg, `RELEASE shared`); err != nil {
				kept = append(kept, c)
				lost(err)
				return group[i+1:]
			}
			kept = append(kept, c)
			continue
		}
		// ROLLBACK TO keeps the savepoint: release it too.
		if _, err := tx.ExecContext(bg, `ROLLBACK TO shared`); err != nil {
			c.done <- ferr
			lost(err)
			return group[i+1:]
		}
		if _, err := tx.ExecContext(bg, `RELEASE shared`); err != nil {
			c.done <- ferr
			lost(err)
			return group[i+1:]
		}
		c.done <- ferr
	}
	s.commitShared(tx, kept)
	return nil
}

// commitShared commits tx and answers the calls whose work it holds.
func (s *Store) commitShared(tx *sql.Tx, kept []*sharedCall) {
	err := mapErr(tx.Commit(), "commit")
	if err == nil {
		s.shared.commits.Add(1)
	}
	for _, c := range kept {
		c.done <- err
	}
}

// runAlone runs one call in tx with no savepoint (nothing else to keep
// when it fails) and commits.
func (s *Store) runAlone(tx *sql.Tx, t *txn, c *sharedCall) []*sharedCall {
	if err := c.ctx.Err(); err != nil {
		c.done <- err
		return nil
	}
	if err := runCall(t, c); err != nil {
		c.done <- err
		return nil
	}
	s.commitShared(tx, []*sharedCall{c})
	return nil
}

// runCall runs c's function, turning a panic into an error for the
// savepoint's rollback; the caller re-raises it.
func runCall(t *txn, c *sharedCall) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.panicked = p
			err = fmt.Errorf("panic in a shared transaction: %v", p)
		}
	}()
	return c.fn(t)
}
