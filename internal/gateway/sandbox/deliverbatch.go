package sandbox

import (
	"context"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const (
	// batchSenders is how many deliveries of a batch are in flight at once.
	// Few: the default receiver is this very process, and a burst of
	// deliveries (each a request to handle) took the CPU from checkouts
	// (checkout p99 at 500/s with every order auto-paid: 15–22 ms with 2,
	// 25–30 ms with 4, 24–42 ms with 16). Batches of a sweep run as jobs of
	// their own, side by side.
	batchSenders = 2
	// retryAfter is when a delivery that failed in its batch is tried
	// again, as its own job.
	retryAfter = time.Second
	// followUpTimeout bounds the transaction that queues what follows a
	// batch.
	followUpTimeout = 30 * time.Second
)

// DeliverBatchArgs is the deliveries of one auto-confirm sweep as one
// durable job (one job per sweep instead of one per intent keeps the
// queue's job rate out of the way at checkout rates). Each delivery that
// fails in it goes on as its own DeliverArgs job, retried with backoff.
type DeliverBatchArgs struct {
	Deliveries []DeliverArgs `json:"deliveries"`
}

// Kind names the job.
func (DeliverBatchArgs) Kind() string { return "sandbox_deliver_batch" }

// DeliverBatch is the handler of DeliverBatchArgs: it POSTs the signed
// deliveries, batchSenders at a time, as Deliver does; then, in one
// transaction, it queues each delivery that failed as its own
// sandbox_deliver job (first tried a second later, with the attempts left:
// DeliveryAttempts-1, at least 1) and the chained delivery (Next) of each
// that succeeded. It fails, and the queue sends the whole batch again,
// only when that transaction fails.
func (g *Gateway) DeliverBatch(ctx context.Context, args DeliverBatchArgs) error {
	failed := g.postAll(ctx, args.Deliveries)
	var retries, next []*DeliverArgs
	for i := range args.Deliveries {
		d := &args.Deliveries[i]
		switch {
		case failed[i]:
			retry := *d
			retry.FailFirst = max(d.FailFirst-1, 0) // the batch was its first attempt
			retries = append(retries, &retry)
		case d.Next != nil:
			next = append(next, d.Next)
		}
	}
	if len(retries)+len(next) == 0 {
		return nil
	}
	// What was sent is sent: queue what follows even if the job's context
	// ended meanwhile (a timeout, a shutdown), so that a retry of the whole
	// batch does not send it all again.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followUpTimeout)
	defer cancel()
	// The queue schedules by the real clock, not the gateway's.
	retryOpts := &fulfill.JobOpts{MaxAttempts: max(g.cfg.DeliveryAttempts-1, 1), ScheduledAt: time.Now().Add(retryAfter)}
	return g.store.Update(qctx, func(tx fulfill.Tx) error {
		for _, d := range retries {
			if err := tx.Enqueue(qctx, *d, retryOpts); err != nil {
				return err
			}
		}
		for _, d := range next {
			if err := g.enqueue(qctx, tx, d, time.Time{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// postAll sends ds, batchSenders at a time, and reports which failed. A
// delivery with FailFirst fails here without being sent.
func (g *Gateway) postAll(ctx context.Context, ds []DeliverArgs) []bool {
	failed := make([]bool, len(ds))
	sem := make(chan struct{}, batchSenders)
	var wg sync.WaitGroup
	for i := range ds {
		if ds[i].FailFirst > 0 {
			failed[i] = true
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			failed[i] = g.post(ctx, ds[i]) != nil
		})
	}
	wg.Wait()
	return failed
}
