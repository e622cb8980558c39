package sandbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const (
	// maxSweepBatch is the most due intents one sweep transaction confirms.
	maxSweepBatch = 256
	// minSweepTick and maxSweepTick bound how often the sweeper looks for
	// due intents.
	minSweepTick = 5 * time.Millisecond
	maxSweepTick = 20 * time.Millisecond
	// maxSweepBackoff bounds the wait after failed sweeps.
	maxSweepBackoff = 5 * time.Second
)

// sweepTick is how often the sweeper looks for due intents: half the
// auto-confirm delay, within [minSweepTick, maxSweepTick].
func sweepTick(after time.Duration) time.Duration {
	return max(min(after/2, maxSweepTick), minSweepTick)
}

// RunAutoConfirm confirms intents whose automatic confirmation is due
// (Config.AutoConfirmAfter) until ctx ends. Every tick (half the delay,
// 5 to 20 ms) it looks for a due intent with a read, which on SQLite never
// waits for the single writer; only when one is due it confirms up to 256
// in one write transaction, each as Confirm with outcome succeeded would
// (succeeded, or authorized under manual capture, a guarded update on
// requires_payment), and queues their deliveries as one
// sandbox_deliver_batch job in it. It repeats until fewer than 256 were
// due. A failed sweep is logged on log (nil: slog.Default()) and tried
// again after a backoff that doubles up to 5 s. Run it where jobs are
// worked; on PostgreSQL any number of processes may run it at once (they
// take disjoint intents). It returns at once when AutoConfirmAfter is zero.
func (g *Gateway) RunAutoConfirm(ctx context.Context, log *slog.Logger) {
	if g.cfg.AutoConfirmAfter <= 0 {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	tick := sweepTick(g.cfg.AutoConfirmAfter)
	wait := tick
	timer := time.NewTimer(tick)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if err := g.sweep(ctx); err == nil {
			wait = tick
		} else if ctx.Err() == nil {
			wait = min(2*wait, maxSweepBackoff)
			log.Error("sandbox auto-confirm sweep failed", "err", err, "retry_in", wait)
		}
		timer.Reset(wait)
	}
}

// sweep confirms every due intent, a batch per transaction.
func (g *Gateway) sweep(ctx context.Context) error {
	due, err := g.anyDue(ctx)
	if err != nil || !due {
		return err
	}
	for {
		n, err := g.confirmDue(ctx)
		if err != nil || n < maxSweepBatch {
			return err
		}
	}
}

// anyDue tells whether an intent is due, in a read-only transaction.
func (g *Gateway) anyDue(ctx context.Context) (bool, error) {
	var due bool
	err := g.store.View(ctx, func(tx fulfill.Tx) error {
		sis, err := tx.DueSandboxIntents(ctx, g.clock.Now(), 1)
		due = len(sis) > 0
		return err
	})
	return due, err
}

// confirmDue confirms up to maxSweepBatch due intents as paid and queues
// their deliveries as one job, in one transaction, and returns how many
// it confirmed. A guarded update that fails (the intents are locked, so
// it should not) fails the whole batch rather than leave an intent due
// that the next sweep would take again.
func (g *Gateway) confirmDue(ctx context.Context) (int, error) {
	var n int
	err := g.store.Update(ctx, func(tx fulfill.Tx) error {
		sis, err := tx.DueSandboxIntents(ctx, g.clock.Now(), maxSweepBatch)
		if err != nil || len(sis) == 0 {
			return err
		}
		batch := DeliverBatchArgs{Deliveries: make([]DeliverArgs, 0, len(sis))}
		for _, si := range sis {
			ev := g.settle(si, OutcomeSucceeded)
			if err := tx.UpdateSandboxIntent(ctx, si, StatusRequiresPayment); err != nil {
				return err
			}
			batch.Deliveries = append(batch.Deliveries, *g.delivery(ev, 0))
		}
		n = len(sis)
		return tx.Enqueue(ctx, batch, &fulfill.JobOpts{MaxAttempts: g.cfg.DeliveryAttempts})
	})
	return n, err
}
