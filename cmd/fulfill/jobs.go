package main

import (
	"context"
	"errors"
	"time"

	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// Intervals of the periodic jobs.
const (
	auditEvery       = time.Hour
	purgeIdemEvery   = time.Hour
	errSandboxOffMsg = "the sandbox gateway is not enabled on this process (FULFILL_GATEWAYS)"
)

// sweepEvery is how often the sweep of things that expire after ttl runs:
// every minute, or every half of a shorter ttl (at most every second), so
// that an order or a hold expires within about half its TTL of being due.
func sweepEvery(ttl time.Duration) time.Duration {
	return min(time.Minute, max(time.Second, ttl/2))
}

// registerJobs registers every job handler and periodic job. The handlers
// reach the app and the gateways through n, which is filled in once the
// store is open (the store builds its queue from this registry). Unpaid
// orders and checkout holds are swept by their TTLs (sweepEvery).
func registerJobs(n *node, orderTTL, holdTTL time.Duration) *queue.Registry {
	reg := queue.NewRegistry()
	queue.Handle(reg, func(ctx context.Context, a app.AuditStockArgs) error { return n.app.AuditStock(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.ProcessPaymentsArgs) error { return n.app.ProcessPayments(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.CapturePaymentArgs) error { return n.app.CapturePayment(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.VoidPaymentArgs) error { return n.app.VoidPayment(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.RefundPaymentArgs) error { return n.app.RefundPayment(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.PaymentActionsArgs) error { return n.app.PaymentActions(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.CompletePaymentArgs) error { return n.app.CompletePayment(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.ExpireOrdersArgs) error { return n.app.ExpireOrders(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.PurgeIdempotencyArgs) error { return n.app.PurgeIdempotency(ctx, a) })
	registerStockJobs(reg, n, holdTTL)
	queue.Handle(reg, func(ctx context.Context, a sandbox.DeliverArgs) error {
		if n.gw.sandbox == nil {
			return queue.Cancel(errors.New(errSandboxOffMsg))
		}
		return n.gw.sandbox.Deliver(ctx, a)
	})
	queue.Handle(reg, func(ctx context.Context, a sandbox.DeliverBatchArgs) error {
		if n.gw.sandbox == nil {
			return queue.Cancel(errors.New(errSandboxOffMsg))
		}
		return n.gw.sandbox.DeliverBatch(ctx, a)
	})
	// Kept for jobs queued by older versions: automatic confirmation is now
	// swept in batches (RunAutoConfirm, started by serve).
	queue.Handle(reg, func(ctx context.Context, a sandbox.AutoConfirmArgs) error {
		if n.gw.sandbox == nil {
			return queue.Cancel(errors.New(errSandboxOffMsg))
		}
		return n.gw.sandbox.AutoConfirm(ctx, a)
	})
	reg.Periodic(auditEvery, app.AuditStockArgs{})
	reg.Periodic(sweepEvery(orderTTL), app.ExpireOrdersArgs{})
	reg.Periodic(purgeIdemEvery, app.PurgeIdempotencyArgs{})
	return reg
}

// registerStockJobs registers the inventory stage's jobs: expired holds
// are released every minute (or sooner for a short hold TTL); backorders
// are served when stock arrives (the receipt queues the job) and, as a
// safety net, every few minutes.
func registerStockJobs(reg *queue.Registry, n *node, holdTTL time.Duration) {
	queue.Handle(reg, func(ctx context.Context, a app.ReleaseHoldsArgs) error { return n.app.ReleaseHolds(ctx, a) })
	queue.Handle(reg, func(ctx context.Context, a app.ServeBackordersArgs) error { return n.app.ServeBackorders(ctx, a) })
	reg.Periodic(sweepEvery(holdTTL), app.ReleaseHoldsArgs{})
	reg.Periodic(5*time.Minute, app.ServeBackordersArgs{})
}
