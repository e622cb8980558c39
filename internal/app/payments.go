package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// DefaultPaymentBatch is the default of Options.PaymentBatch: the most
// webhook events (and leftover paid orders) one transaction of the payment
// stage applies. Batching is what makes the stage fast: one durable commit
// for hundreds of decisions.
const DefaultPaymentBatch = 500

// DefaultPaymentBatchDelay is the server's default
// Options.PaymentBatchDelay (FULFILL_PAYMENT_BATCH_DELAY).
const DefaultPaymentBatchDelay = 50 * time.Millisecond

// EventPaymentVoided is the notification of a voided authorization.
const EventPaymentVoided = "payment.voided"

// ProcessPaymentsArgs is the job that applies received payment webhooks:
// the webhook inbox enqueues one per group commit.
type ProcessPaymentsArgs struct{}

// Kind names the job.
func (ProcessPaymentsArgs) Kind() string { return "process_payments" }

// processPaymentsOpts coalesce process_payments jobs: the job drains the
// whole inbox, so one waiting job is enough for any number of group
// commits (at 1,000 webhooks/s the inbox would otherwise queue hundreds of
// jobs a second that find nothing left to do).
var processPaymentsOpts = &fulfill.JobOpts{Coalesce: true}

// VoidPaymentArgs is the job that voids an order's uncaptured
// authorization through its gateway.
type VoidPaymentArgs struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason,omitempty"`
}

// Kind names the job.
func (VoidPaymentArgs) Kind() string { return "void_payment" }

// CompletePaymentArgs is the job that completes, at its gateway, a payment
// the shopper approved (fulfill.Completer: PayPal).
type CompletePaymentArgs struct {
	OrderID string `json:"order_id"`
}

// Kind names the job.
func (CompletePaymentArgs) Kind() string { return "complete_payment" }

// CompletePayment is the handler of complete_payment: it completes the
// payment of an order still waiting for it; the gateway's event for the
// completion then pays the order. A gateway that says the payment can't be
// completed (EConflict: not approved, say) ends the job; the order expires
// unpaid as any other.
func (a *App) CompletePayment(ctx context.Context, args CompletePaymentArgs) error {
	o, gw, err := a.orderGateway(ctx, args.OrderID)
	if err != nil {
		return err
	}
	c, ok := gw.(fulfill.Completer)
	if o.Status != fulfill.StatusPendingPayment || !ok {
		a.log.InfoContext(ctx, "complete payment: nothing to complete", "order", o.ID, "status", o.Status)
		return nil
	}
	err = c.Complete(ctx, o.Payment.IntentID)
	if fulfill.IsCode(err, fulfill.EConflict) {
		a.log.WarnContext(ctx, "complete payment: the gateway refused", "order", o.ID, "err", err)
		return nil
	}
	return err
}

// RefundPaymentArgs is the job that refunds an order's captured payment
// through its gateway and then moves the order to refunded (cause
// "refunded: <reason>").
type RefundPaymentArgs struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason,omitempty"`
}

// Kind names the job.
func (RefundPaymentArgs) Kind() string { return "refund_payment" }

// CapturePaymentArgs is the job that captures an order's authorization
// (manual capture) once its stock is reserved.
type CapturePaymentArgs struct {
	OrderID string `json:"order_id"`
}

// Kind names the job.
func (CapturePaymentArgs) Kind() string { return "capture_payment" }

// ProcessPayments is the handler of process_payments. In one transaction
// under Tx.LockAllocator it first settles any order left paid without
// stock, then claims up to Options.PaymentBatch received webhook events in order
// of the gateway's time, then arrival, applies each (a confirmed payment
// is paid and its stock decided at once, in that order), marks them
// processed or ignored, queues notifications and next-stage jobs, and
// commits; it repeats until no received event is left. Jobs in several
// processes may run at once (the allocator lock serialises them); within
// one process a job that starts during a run ends at once and the run
// looks again before it ends.
//
// It first waits Options.PaymentBatchDelay, so that the events of that
// moment share one transaction: a batch's cost is mostly per transaction
// (loading stock, committing), and one a few milliseconds after each event
// would cost several times more per order at 1,000 webhooks/s.
func (a *App) ProcessPayments(ctx context.Context, _ ProcessPaymentsArgs) error {
	if !a.pay.start() {
		return nil // the run in progress looks again before it ends
	}
	finished := false
	defer func() {
		if !finished { // failed or panicked: the queue runs the job again
			a.pay.stop()
		}
	}()
	var err error
	a.background(func() { finished, err = a.processPayments(ctx) })
	return err
}

// background runs fn through Options.Background, or at once.
func (a *App) background(fn func()) {
	if a.opts.Background != nil {
		a.opts.Background(fn)
		return
	}
	fn()
}

// processPayments is ProcessPayments' work; finished reports that it found
// nothing left to do.
func (a *App) processPayments(ctx context.Context) (finished bool, err error) {
	if err := sleep(ctx, a.opts.PaymentBatchDelay); err != nil {
		return false, err
	}
	isolated := false
	for {
		started := time.Now()
		n, err := a.paymentBatch(ctx, true)
		if errors.Is(err, errStaleCounts) {
			a.log.InfoContext(ctx, "payment batch: stock changed meanwhile; running it again move by move", "err", err)
			n, err = a.paymentBatch(ctx, false)
		}
		if err != nil {
			// A batch that failed on the job's previous attempt too is
			// taken apart once: its events are applied one by one, and
			// one that fails alone is set aside for an operator instead
			// of holding up every payment behind it.
			if isolated || ctx.Err() != nil || fulfill.JobAttempt(ctx) < 2 {
				return false, err
			}
			isolated = true
			a.log.WarnContext(ctx, "payment batch failed again; applying its events one by one", "err", err)
			if err := a.isolateEvents(ctx); err != nil {
				return false, err
			}
			continue
		}
		if n == 0 && a.pay.done() {
			return true, nil
		}
		// Events keep arriving: let the next batch gather for the rest of
		// the delay too (a backlog, full batches, goes on at once).
		if n > 0 && n < a.opts.PaymentBatch {
			if err := sleep(ctx, a.opts.PaymentBatchDelay-time.Since(started)); err != nil {
				return false, err
			}
		}
	}
}

// sleep waits d (nothing when d <= 0) or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// payState tracks the process_payments jobs of this process for the
// kicker: one queued job is enough for any number of kicks, and while one
// runs, a kick only tells it to look again before it ends (it may have
// read the inbox before the kicked events were stored). Without this every
// kick during a run would queue a job of its own: a dozen of them would
// wait for the writer in turn, each with a small, dear batch, while
// holding every worker of the queue.
type payState struct {
	mu      sync.Mutex
	queued  bool // a job the kicker queued has not started
	running int  // runs in progress (0 or 1)
	dirty   bool // kicked, or another job started, during a run
}

// kick reports whether the kicker must queue a job.
func (p *payState) kick() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.running > 0:
		p.dirty = true
		return false
	case p.queued:
		return false
	}
	p.queued = true
	return true
}

// failed undoes kick after the job could not be queued.
func (p *payState) failed() {
	p.mu.Lock()
	p.queued = false
	p.mu.Unlock()
}

// start begins a run, unless one is in progress in this process: that
// one is then told to look again before it ends, and start reports false.
// (Processes on one PostgreSQL database run side by side, serialised by
// the allocator lock; within a process a second run would only hold a
// worker of the queue waiting for that lock.)
func (p *payState) start() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queued = false
	if p.running > 0 {
		p.dirty = true
		return false
	}
	p.dirty = false
	p.running++
	return true
}

// done ends a run that found nothing left, unless it was kicked meanwhile.
func (p *payState) done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty {
		p.dirty = false
		return false
	}
	p.running--
	return true
}

// stop ends a run that failed (the queue retries the job).
func (p *payState) stop() {
	p.mu.Lock()
	p.running--
	p.dirty = false
	p.mu.Unlock()
}

// paymentBatch runs one transaction of the payment stage and returns how
// many events and orders it handled. With bufferMoves its stock movements
// are applied together when it finishes (see reserver.bufferMoves).
func (a *App) paymentBatch(ctx context.Context, bufferMoves bool) (int, error) {
	var n int
	err := a.store.Update(ctx, func(tx fulfill.Tx) error {
		n = 0
		r, err := a.lockedReserver(ctx, tx)
		if err != nil {
			return err
		}
		r.bufferMoves = bufferMoves
		left, err := r.allocatePaid(ctx)
		if err != nil {
			return err
		}
		evs, err := tx.ReceivedWebhookEvents(ctx, a.opts.PaymentBatch)
		if err != nil {
			return err
		}
		if err := r.applyEvents(ctx, evs); err != nil {
			return err
		}
		n = left + len(evs)
		return r.finish(ctx)
	})
	return n, err
}

// lockedReserver takes the allocator lock and starts a buffered reserver
// in tx.
func (a *App) lockedReserver(ctx context.Context, tx fulfill.Tx) (*reserver, error) {
	if err := tx.LockAllocator(ctx); err != nil {
		return nil, err
	}
	r, err := a.newReserver(ctx, tx)
	if err != nil {
		return nil, err
	}
	r.buffered = true
	return r, nil
}

// applyEvents applies evs in their order and marks the ones that had an
// effect processed.
func (r *reserver) applyEvents(ctx context.Context, evs []fulfill.WebhookEvent) error {
	if err := r.loadOrders(ctx, evs); err != nil {
		return err
	}
	r.paidInBatch = successesIn(evs)
	for i := range evs {
		if err := r.applyEvent(ctx, &evs[i]); err != nil {
			return fmt.Errorf("webhook event %s: %w", evs[i].ID, err)
		}
	}
	if len(r.processed) > 0 {
		if err := r.tx.MarkWebhookEvents(ctx, r.processed, fulfill.WebhookProcessed, r.now); err != nil {
			return err
		}
		r.processed = nil
	}
	return nil
}

// isolateEvents applies the received events of a failing batch one per
// transaction. An event that fails alone is marked failed with its error
// (GET /v1/webhooks/events?status=failed shows it; replaying it after the
// cause is fixed applies it again); the others have their effect.
func (a *App) isolateEvents(ctx context.Context) error {
	var evs []fulfill.WebhookEvent
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		evs, err = tx.ReceivedWebhookEvents(ctx, a.opts.PaymentBatch)
		return err
	})
	if err != nil {
		return err
	}
	for _, ev := range evs {
		err := a.store.Update(ctx, func(tx fulfill.Tx) error {
			r, err := a.lockedReserver(ctx, tx)
			if err != nil {
				return err
			}
			cur, err := tx.GetWebhookEvent(ctx, ev.ID)
			if err != nil || cur.Status != fulfill.WebhookReceived {
				return err // settled meanwhile (another process, a replay)
			}
			if err := r.applyEvents(ctx, []fulfill.WebhookEvent{*cur}); err != nil {
				return err
			}
			return r.finish(ctx)
		})
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.ErrorContext(ctx, "payment stage: a webhook event fails on its own; marked failed, the others go on",
			"event", ev.ID, "provider", ev.Provider, "order", ev.OrderID, "err", err)
		msg := err.Error()
		if err := a.store.Update(ctx, func(tx fulfill.Tx) error {
			return tx.MarkWebhookEvent(ctx, ev.ID, fulfill.WebhookFailed, msg, a.clock.Now())
		}); err != nil {
			return err
		}
	}
	return nil
}

// kickPayments makes sure that a process_payments job runs after events
// were stored in a store's own inbox (fulfill.WebhookInbox), where the
// job can't be queued in the same transaction. Kicks coalesce: while a
// queued job has not started, it will see the events.
func (a *App) kickPayments() {
	select {
	case a.kick <- struct{}{}:
	default: // a kick is pending already
	}
}

// maxKickFailures is how many times in a row the kicker tries to queue a
// job for one kick.
const maxKickFailures = 10

// runKicker queues process_payments jobs for kickPayments until Close.
// At start it looks for events left in the inbox by a stop or a crash
// between an acknowledgement and its job.
func (a *App) runKicker(wi fulfill.WebhookInbox) {
	defer close(a.kickDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.kickQuit
		cancel()
	}()
	if backlog, err := wi.WebhookBacklog(ctx); err != nil {
		a.log.Error("webhook inbox backlog", "err", err)
		a.kickPayments()
	} else if backlog {
		a.kickPayments()
	}
	failures := 0
	for {
		select {
		case <-a.kickQuit:
			return
		case <-a.kick:
		}
		if !a.pay.kick() {
			continue
		}
		err := a.store.Update(ctx, func(tx fulfill.Tx) error {
			return tx.Enqueue(ctx, ProcessPaymentsArgs{}, processPaymentsOpts)
		})
		if err == nil {
			failures = 0
			continue
		}
		a.pay.failed()
		if ctx.Err() != nil {
			return
		}
		failures++
		a.log.Error("queue process_payments", "err", err, "attempt", failures)
		if failures >= maxKickFailures {
			failures = 0 // the next acknowledgement kicks again
			continue
		}
		select {
		case <-time.After(time.Duration(failures) * 100 * time.Millisecond):
			a.kickPayments()
		case <-a.kickQuit:
			return
		}
	}
}

// allocatePaid settles orders that are paid but have no stock decision
// (left by an operator's move out of exception, or by an older release),
// in confirmation order, and returns how many it settled.
func (r *reserver) allocatePaid(ctx context.Context) (int, error) {
	orders, err := r.tx.PaidOrdersToAllocate(ctx, r.a.opts.PaymentBatch)
	if err != nil {
		return 0, err
	}
	if err := r.adopt(ctx, orders); err != nil {
		return 0, err
	}
	for i := range orders {
		_, err := r.update(ctx, orders[i].ID, func(o *fulfill.Order, fu *followUp) error {
			if o.Status != fulfill.StatusPaid {
				return errUnchanged
			}
			return r.settle(ctx, o, fu, false)
		})
		if err != nil {
			return 0, err
		}
	}
	return len(orders), nil
}

// loadOrders loads, locked, the orders the events name by id, in one
// round trip, so that each is then saved without being read again.
func (r *reserver) loadOrders(ctx context.Context, evs []fulfill.WebhookEvent) error {
	var ids []string
	seen := map[string]bool{}
	for _, ev := range evs {
		if id := ev.OrderID; id != "" && !seen[id] && r.orders[id] == nil {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	orders, err := r.tx.OrdersByIDs(ctx, ids)
	if err != nil {
		return err
	}
	return r.adopt(ctx, orders)
}

// applyEvent applies one event and marks it ignored, or queues it to be
// marked processed with the rest of the batch.
func (r *reserver) applyEvent(ctx context.Context, ev *fulfill.WebhookEvent) error {
	ignored, err := r.apply(ctx, ev)
	if err != nil {
		return err
	}
	if ignored == "" {
		r.processed = append(r.processed, ev.ID)
		return nil
	}
	return r.tx.MarkWebhookEvent(ctx, ev.ID, fulfill.WebhookIgnored, ignored, r.now)
}

// apply applies one event and returns why it was ignored ("" when it had
// its effect).
func (r *reserver) apply(ctx context.Context, ev *fulfill.WebhookEvent) (string, error) {
	if ev.Type == fulfill.PaymentEventOther || ev.Type == "" {
		return "event type " + ev.RawType + " changes nothing", nil
	}
	id, err := r.orderOf(ctx, ev)
	if fulfill.IsCode(err, fulfill.ENotFound) {
		return "no order for this event", nil
	}
	if err != nil {
		return "", err
	}
	fn := r.handler(ev)
	if fn == nil {
		return "event type " + string(ev.Type) + " changes nothing", nil
	}
	fu, err := r.update(ctx, id, func(o *fulfill.Order, fu *followUp) error {
		if why := mismatchedIntent(ev, o); why != "" {
			fu.ignored = why
			return errUnchanged
		}
		return fn(ctx, o, fu)
	})
	if fulfill.IsCode(err, fulfill.ENotFound) {
		return "no order for this event", nil
	}
	if err != nil {
		return "", err
	}
	return fu.ignored, nil
}

// orderOf finds the order an event is about: its order id, else its
// intent.
func (r *reserver) orderOf(ctx context.Context, ev *fulfill.WebhookEvent) (string, error) {
	if ev.OrderID != "" {
		return ev.OrderID, nil
	}
	o, err := r.tx.OrderByIntent(ctx, ev.Provider, ev.IntentID)
	if err != nil {
		return "", err
	}
	return o.ID, nil
}

// mismatchedIntent says why an event does not belong to o ("" when it
// does): another provider, or another intent of the same provider.
func mismatchedIntent(ev *fulfill.WebhookEvent, o *fulfill.Order) string {
	if o.Payment.Provider != "" && ev.Provider != o.Payment.Provider {
		return "event of " + ev.Provider + " for an order paid with " + o.Payment.Provider
	}
	if ev.IntentID != "" && o.Payment.IntentID != "" && ev.IntentID != o.Payment.IntentID {
		return "event's intent is not the order's"
	}
	return ""
}

// eventFunc applies one event type to a loaded order.
type eventFunc func(ctx context.Context, o *fulfill.Order, fu *followUp) error

// handler returns the function of ev's type.
func (r *reserver) handler(ev *fulfill.WebhookEvent) eventFunc {
	switch ev.Type {
	case fulfill.PaymentSucceeded:
		return func(ctx context.Context, o *fulfill.Order, fu *followUp) error { return r.succeeded(ctx, ev, o, fu) }
	case fulfill.PaymentApproved:
		return func(_ context.Context, o *fulfill.Order, fu *followUp) error {
			if o.Status != fulfill.StatusPendingPayment {
				fu.ignored = "order is already " + string(o.Status)
				return errUnchanged
			}
			fu.jobs = append(fu.jobs, CompletePaymentArgs{OrderID: o.ID})
			return errUnchanged // paid by the completion's own event
		}
	case fulfill.PaymentAuthorized:
		return func(ctx context.Context, o *fulfill.Order, fu *followUp) error {
			if o.Payment.Capture != fulfill.CaptureManual {
				fu.ignored = "authorization of an automatic-capture payment: its capture confirms it"
				return errUnchanged
			}
			return r.succeeded(ctx, ev, o, fu)
		}
	case fulfill.PaymentFailed:
		return func(_ context.Context, o *fulfill.Order, fu *followUp) error { return r.failed(ev, o, fu) }
	case fulfill.PaymentRefunded:
		return func(ctx context.Context, o *fulfill.Order, fu *followUp) error { return r.refunded(ctx, ev, o, fu) }
	case fulfill.PaymentCanceled:
		return func(_ context.Context, o *fulfill.Order, fu *followUp) error { return r.canceled(o, fu) }
	case fulfill.PaymentDisputed:
		return func(ctx context.Context, o *fulfill.Order, fu *followUp) error { return r.disputed(ctx, ev, o, fu) }
	}
	return nil
}

// succeeded marks an unpaid order paid at the gateway's time and decides
// its stock at once. An amount or currency that doesn't match the order
// moves it to exception instead. A payment for an order cancelled before
// it was paid (say, expired) is reversed. Anything else is a duplicate.
func (r *reserver) succeeded(ctx context.Context, ev *fulfill.WebhookEvent, o *fulfill.Order, fu *followUp) error {
	switch o.Status {
	case fulfill.StatusPendingPayment, fulfill.StatusPaymentFailed:
	case fulfill.StatusCancelled:
		if o.Payment.ConfirmedAt != nil {
			fu.ignored = "order is already cancelled and its payment reversed"
			return errUnchanged
		}
		fu.ignored = "order was cancelled before the payment; reversal queued"
		fu.jobs = append(fu.jobs, reversal(o, "paid after cancellation"))
		return errUnchanged
	default:
		fu.ignored = "order is already " + string(o.Status)
		return errUnchanged
	}
	fu.order = o
	if ev.Amount.Amount != o.Total.Amount || !strings.EqualFold(ev.Amount.Currency, o.Total.Currency) {
		fu.event = EventOrderException
		fu.cause = fmt.Sprintf("payment amount mismatch: gateway reported %d %s, order total is %d %s",
			ev.Amount.Amount, ev.Amount.Currency, o.Total.Amount, o.Total.Currency)
		fu.release = "payment amount mismatch"
		return o.Transition(fulfill.StatusException, fu.cause, r.now)
	}
	at := ev.OccurredAt
	o.Payment.ConfirmedAt = &at
	if err := o.Transition(fulfill.StatusPaid, "payment confirmed ("+ev.Provider+" "+ev.EventID+")", r.now); err != nil {
		return err
	}
	return r.settle(ctx, o, fu, false)
}

// reversal is the job that gives a shopper's money back the way the
// capture mode allows.
func reversal(o *fulfill.Order, reason string) fulfill.JobArgs {
	if o.Payment.Capture == fulfill.CaptureManual {
		return VoidPaymentArgs{OrderID: o.ID, Reason: reason}
	}
	return RefundPaymentArgs{OrderID: o.ID, Reason: reason}
}

// successesIn returns the orders that have a success among evs, keyed by
// order id and by provider/intent (an event may carry either).
func successesIn(evs []fulfill.WebhookEvent) map[string]bool {
	paid := map[string]bool{}
	for _, e := range evs {
		if e.Type != fulfill.PaymentSucceeded && e.Type != fulfill.PaymentAuthorized {
			continue
		}
		if e.OrderID != "" {
			paid[e.OrderID] = true
		}
		if e.IntentID != "" {
			paid[e.Provider+"/"+e.IntentID] = true
		}
	}
	return paid
}

// failed marks an unpaid order payment_failed; a late failure after a
// success changes nothing, and neither does a failure delivered together
// with a success for the same order: the gateway's stamps may put the
// failure first (a stale, reordered delivery), but the shopper has paid,
// and telling them "declined" then "paid" would only confuse.
func (r *reserver) failed(ev *fulfill.WebhookEvent, o *fulfill.Order, fu *followUp) error {
	if o.Status != fulfill.StatusPendingPayment {
		fu.ignored = "order is already " + string(o.Status)
		return errUnchanged
	}
	if r.paidInBatch[o.ID] || r.paidInBatch[o.Payment.Provider+"/"+o.Payment.IntentID] {
		fu.ignored = "superseded by a success delivered with it"
		return errUnchanged
	}
	fu.order, fu.event, fu.cause = o, EventOrderPaymentFailed, "payment declined ("+ev.RawType+")"
	return o.Transition(fulfill.StatusPaymentFailed, fu.cause, r.now)
}

// refunded moves the order to refunded where the table allows, releasing
// its stock. A partial refund, or one after shipping, is a notification
// only.
func (r *reserver) refunded(ctx context.Context, ev *fulfill.WebhookEvent, o *fulfill.Order, fu *followUp) error {
	if o.Status == fulfill.StatusRefunded {
		fu.ignored = "order is already refunded"
		return errUnchanged
	}
	partial := ev.Amount.Amount > 0 && ev.Amount.Amount < o.Total.Amount
	if partial || !fulfill.CanTransition(o.Status, fulfill.StatusRefunded) || o.Payment.ConfirmedAt == nil {
		return r.noteOnly(ctx, o, EventPaymentRefunded, ev.EventID,
			fmt.Sprintf("gateway refunded %d %s", ev.Amount.Amount, ev.Amount.Currency))
	}
	fu.order, fu.event, fu.cause = o, EventOrderRefunded, "refunded at the gateway"
	fu.release = "refunded"
	return o.Transition(fulfill.StatusRefunded, fu.cause, r.now)
}

// canceled cancels an unpaid order whose intent was cancelled at the
// gateway, releasing its holds.
func (r *reserver) canceled(o *fulfill.Order, fu *followUp) error {
	if o.Status != fulfill.StatusPendingPayment && o.Status != fulfill.StatusPaymentFailed {
		fu.ignored = "order is already " + string(o.Status)
		return errUnchanged
	}
	fu.order, fu.event, fu.cause = o, EventOrderCancelled, "payment canceled at the gateway"
	fu.release = fu.cause
	return o.Transition(fulfill.StatusCancelled, fu.cause, r.now)
}

// disputed leaves the order as it is and queues a payment.disputed
// notification for the merchant.
func (r *reserver) disputed(ctx context.Context, ev *fulfill.WebhookEvent, o *fulfill.Order, _ *followUp) error {
	return r.noteOnly(ctx, o, EventPaymentDisputed, ev.EventID, "chargeback opened at the gateway")
}

// noteOnly queues a notification about o without changing it, and aborts
// its UpdateOrder.
func (r *reserver) noteOnly(ctx context.Context, o *fulfill.Order, event, suffix, cause string) error {
	if err := r.notify(ctx, o, event, cause, suffix); err != nil {
		return err
	}
	return errUnchanged
}

// VoidPayment is the handler of void_payment: it voids the order's
// authorization at its gateway. A payment captured meanwhile (the gateway
// refuses the void: EConflict) is refunded instead and the order moves to
// refunded; an authorization already voided or gone counts as done.
func (a *App) VoidPayment(ctx context.Context, args VoidPaymentArgs) error {
	o, gw, err := a.orderGateway(ctx, args.OrderID)
	if err != nil {
		return err
	}
	err = gw.Void(ctx, o.Payment.IntentID)
	if fulfill.IsCode(err, fulfill.EConflict) {
		// Nothing open to void: the payment was captured meanwhile (a
		// manual capture runs once the stock is reserved, so a cancelled
		// reserved order usually was), which is refunded instead; or it
		// was voided already (a retry), which the refund then says too.
		_, rerr := gw.Refund(ctx, o.Payment.IntentID, o.Total, args.Reason)
		switch {
		case rerr == nil:
			return a.markRefunded(ctx, o.ID, "refunded: "+args.Reason)
		case fulfill.IsCode(rerr, fulfill.EConflict):
			a.log.WarnContext(ctx, "void: nothing to void or refund", "order", o.ID, "void", err, "refund", rerr)
			err = nil
		default:
			return rerr
		}
	}
	if fulfill.IsCode(err, fulfill.ENotFound) {
		a.log.WarnContext(ctx, "void: nothing to void", "order", o.ID, "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	return a.store.Update(ctx, func(tx fulfill.Tx) error {
		return a.notify(ctx, tx, o, EventPaymentVoided, args.Reason, "")
	})
}

// RefundPayment is the handler of refund_payment: it refunds the order's
// total at its gateway, then moves the order to refunded (cause
// "refunded: <reason>") and queues order.refunded. A payment the gateway
// says is already refunded (EConflict) counts as refunded, so a retry
// after a crash between the two steps does not refund twice.
func (a *App) RefundPayment(ctx context.Context, args RefundPaymentArgs) error {
	o, gw, err := a.orderGateway(ctx, args.OrderID)
	if err != nil {
		return err
	}
	if o.Status == fulfill.StatusRefunded {
		return nil
	}
	if !fulfill.CanTransition(o.Status, fulfill.StatusRefunded) {
		a.log.WarnContext(ctx, "refund: order cannot be refunded", "order", o.ID, "status", o.Status)
		return nil
	}
	_, err = gw.Refund(ctx, o.Payment.IntentID, o.Total, args.Reason)
	if fulfill.IsCode(err, fulfill.EConflict) {
		a.log.WarnContext(ctx, "refund: gateway says already refunded", "order", o.ID, "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	return a.markRefunded(ctx, o.ID, "refunded: "+args.Reason)
}

// markRefunded moves an order to refunded after the gateway refunded it.
func (a *App) markRefunded(ctx context.Context, id, cause string) error {
	return a.store.Update(ctx, func(tx fulfill.Tx) error {
		fu := &followUp{event: EventOrderRefunded, cause: cause, release: "refunded"}
		o, err := tx.UpdateOrder(ctx, id, func(o *fulfill.Order) error {
			if o.Status == fulfill.StatusRefunded || !fulfill.CanTransition(o.Status, fulfill.StatusRefunded) {
				return errUnchanged
			}
			return o.Transition(fulfill.StatusRefunded, cause, a.clock.Now())
		})
		if err != nil {
			if errors.Is(err, errUnchanged) {
				return nil
			}
			return err
		}
		fu.order = o
		return a.finishChange(ctx, tx, fu)
	})
}

// CapturePayment is the handler of capture_payment: it captures the
// order's total once its stock is reserved. An order cancelled meanwhile
// is not captured (its void job runs instead); a payment the gateway says
// is not capturable (EConflict: already captured) counts as done.
func (a *App) CapturePayment(ctx context.Context, args CapturePaymentArgs) error {
	o, gw, err := a.orderGateway(ctx, args.OrderID)
	if err != nil {
		return err
	}
	switch o.Status {
	case fulfill.StatusPendingPayment, fulfill.StatusPaymentFailed, fulfill.StatusCancelled,
		fulfill.StatusRefunded, fulfill.StatusException, fulfill.StatusPaid, fulfill.StatusBackordered:
		a.log.InfoContext(ctx, "capture: order not capturable now", "order", o.ID, "status", o.Status)
		return nil
	}
	err = gw.Capture(ctx, o.Payment.IntentID, o.Total)
	if fulfill.IsCode(err, fulfill.EConflict) {
		a.log.WarnContext(ctx, "capture: gateway refused; treating as captured", "order", o.ID, "err", err)
		return nil
	}
	return err
}

// orderGateway loads an order and its gateway.
func (a *App) orderGateway(ctx context.Context, id string) (*fulfill.Order, fulfill.Gateway, error) {
	o, err := a.GetOrder(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	gw, ok := a.opts.Gateways[o.Payment.Provider]
	if !ok {
		return nil, nil, fulfill.Errorf(fulfill.EUnavailable, "payment gateway %q is not configured", o.Payment.Provider)
	}
	return o, gw, nil
}

// PaymentAction is a gateway call a payment_actions job makes.
type PaymentAction string

// Payment actions.
const (
	ActionCapture PaymentAction = "capture"
	ActionVoid    PaymentAction = "void"
	ActionRefund  PaymentAction = "refund"
)

// PaymentActionsArgs is the job that makes one gateway call per order for
// a whole batch of the payment stage (the captures of its reserved orders,
// the voids or refunds of its out-of-stock ones): the stage then inserts
// one job per batch, not one per order.
type PaymentActionsArgs struct {
	Action   PaymentAction `json:"action"`
	OrderIDs []string      `json:"order_ids"`
	Reason   string        `json:"reason,omitempty"`
}

// Kind names the job.
func (PaymentActionsArgs) Kind() string { return "payment_actions" }

// PaymentActions is the handler of payment_actions: it runs the action's
// single-order handler for each order. Orders that fail get their own
// single-order job (capture_payment, void_payment, refund_payment), so
// that they retry alone and the others are not called twice.
func (a *App) PaymentActions(ctx context.Context, args PaymentActionsArgs) error {
	var retry []fulfill.JobArgs
	for _, id := range args.OrderIDs {
		one := a.singleAction(args.Action, id, args.Reason)
		if one == nil {
			return fulfill.Errorf(fulfill.EInvalid, "unknown payment action %q", args.Action)
		}
		if err := a.runAction(ctx, one); err != nil {
			a.log.WarnContext(ctx, "payment action failed; queued alone for retry", "action", args.Action, "order", id, "err", err)
			retry = append(retry, one)
		}
	}
	if len(retry) == 0 {
		return nil
	}
	return a.store.Update(ctx, func(tx fulfill.Tx) error { return a.queueJobs(ctx, tx, retry) })
}

// singleAction is the single-order job of an action.
func (a *App) singleAction(act PaymentAction, id, reason string) fulfill.JobArgs {
	switch act {
	case ActionCapture:
		return CapturePaymentArgs{OrderID: id}
	case ActionVoid:
		return VoidPaymentArgs{OrderID: id, Reason: reason}
	case ActionRefund:
		return RefundPaymentArgs{OrderID: id, Reason: reason}
	}
	return nil
}

// runAction runs a single-order payment job's handler.
func (a *App) runAction(ctx context.Context, j fulfill.JobArgs) error {
	switch j := j.(type) {
	case CapturePaymentArgs:
		return a.CapturePayment(ctx, j)
	case VoidPaymentArgs:
		return a.VoidPayment(ctx, j)
	case RefundPaymentArgs:
		return a.RefundPayment(ctx, j)
	}
	return fulfill.Errorf(fulfill.EInternal, "no handler for %s", j.Kind())
}
