package sandbox

import (
	"context"
	"sync"

	"github.com/fulfill-dev/fulfill"
)

// maxIntentBatch is the most intents one transaction stores.
const maxIntentBatch = 256

// pendingIntent is one CreateIntent waiting for its commit.
type pendingIntent struct {
	si   *fulfill.SandboxIntent
	done chan error
	// lead tells a waiter that it commits the next batch.
	lead chan struct{}
}

// intentBatcher stores the intents of concurrent checkouts in shared
// transactions (group commit) with no timer: one caller at a time leads
// and commits whatever is waiting (up to maxIntentBatch) at once, while
// the next batch gathers; then it hands the lead to the first waiter of
// that batch and returns. One checkout alone waits for no one.
type intentBatcher struct {
	g       *Gateway
	mu      sync.Mutex
	waiting []*pendingIntent
	busy    bool
}

// submit stores si, sharing a transaction with the intents created at the
// same moment, and returns once it is committed. It does not give up on
// ctx: the commit is short, and a waiter may be handed the lead.
func (b *intentBatcher) submit(ctx context.Context, si *fulfill.SandboxIntent) error {
	p := &pendingIntent{si: si, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.waiting = append(b.waiting, p)
	if !b.busy {
		b.busy = true
		p.lead <- struct{}{}
	}
	b.mu.Unlock()
	for {
		select {
		case err := <-p.done:
			return err
		case <-p.lead:
			b.lead(context.WithoutCancel(ctx))
		}
	}
}

// lead commits one batch and passes the lead on (or ends it when none
// waits).
func (b *intentBatcher) lead(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.waiting), maxIntentBatch)
	batch := b.waiting[:n:n]
	b.waiting = b.waiting[n:]
	b.mu.Unlock()
	b.commit(ctx, batch)
	b.mu.Lock()
	if len(b.waiting) > 0 {
		b.waiting[0].lead <- struct{}{}
	} else {
		b.busy = false
	}
	b.mu.Unlock()
}

// commit stores one batch; if the shared transaction fails, each intent
// is retried alone so that one bad intent fails only its own checkout.
func (b *intentBatcher) commit(ctx context.Context, batch []*pendingIntent) {
	if len(batch) == 0 {
		return
	}
	err := b.g.store.Update(ctx, func(tx fulfill.Tx) error {
		for _, p := range batch {
			if err := tx.CreateSandboxIntent(ctx, p.si); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for _, p := range batch {
		p.done <- b.g.store.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateSandboxIntent(ctx, p.si) })
	}
}
