package sandbox

import (
	"context"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// Outcomes of a confirmation.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeDeclined  = "declined"
)

const (
	// staleBy is how much older the out-of-order event's timestamp is than
	// the real outcome's.
	staleBy = time.Second
)

// ConfirmRequest plays the shopper on the sandbox's payment page: the
// domain's fulfill.SandboxConfirm, whose Validate checks the knobs.
type ConfirmRequest = fulfill.SandboxConfirm

// Confirm settles a requires_payment intent with the requested outcome
// (succeeded, or authorized under manual capture; failed when declined) and
// queues the signed webhook deliveries the knobs ask for, in the same
// transaction. ENotFound; EConflict when the intent is no longer payable;
// EInvalid for bad knobs.
func (g *Gateway) Confirm(ctx context.Context, intentID string, req ConfirmRequest) (*fulfill.SandboxIntent, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out *fulfill.SandboxIntent
	err := g.store.Update(ctx, func(tx fulfill.Tx) error {
		si, err := tx.GetSandboxIntent(ctx, intentID)
		if err != nil {
			return err
		}
		if si.Status != StatusRequiresPayment {
			return conflict(si, "confirmed")
		}
		ev := g.settle(si, req.Outcome)
		if err := tx.UpdateSandboxIntent(ctx, si, StatusRequiresPayment); err != nil {
			return err
		}
		out = si
		return g.enqueueConfirm(ctx, tx, si, ev, req)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// settle moves si to the outcome's status and returns the event a gateway
// sends for it.
func (g *Gateway) settle(si *fulfill.SandboxIntent, outcome string) *event {
	si.UpdatedAt = g.clock.Now()
	switch {
	case outcome == OutcomeDeclined:
		si.Status = StatusFailed
		return g.intentEvent(si, TypePaymentFailed)
	case si.Capture == fulfill.CaptureManual:
		si.Status = StatusAuthorized
		return g.intentEvent(si, TypeAmountCapturable)
	}
	si.Status = StatusSucceeded
	return g.intentEvent(si, TypeSucceeded)
}

// enqueueConfirm queues the outcome's delivery with the knobs: a delay, a
// concurrent duplicate, a stale failure chained after it.
func (g *Gateway) enqueueConfirm(ctx context.Context, tx fulfill.Tx, si *fulfill.SandboxIntent, ev *event, req ConfirmRequest) error {
	var at time.Time
	if req.DelayMS > 0 {
		at = g.clock.Now().Add(time.Duration(req.DelayMS) * time.Millisecond)
	}
	d := g.delivery(ev, req.FailFirst)
	if req.OutOfOrder {
		stale := g.intentEvent(&fulfill.SandboxIntent{
			ID: si.ID, OrderID: si.OrderID, Amount: si.Amount, Capture: si.Capture, Status: StatusFailed,
		}, TypePaymentFailed)
		stale.Created = ev.Created - int64(staleBy/time.Second)
		d.Next = g.delivery(stale, 0)
	}
	if err := g.enqueue(ctx, tx, d, at); err != nil {
		return err
	}
	if !req.Duplicate {
		return nil
	}
	return g.enqueue(ctx, tx, g.delivery(ev, 0), at)
}

// AutoConfirmArgs is the job that confirmed one intent as paid after
// Config.AutoConfirmAfter, one job per intent, until automatic
// confirmation was swept in batches (RunAutoConfirm). No intent gets one
// any more; the kind and its handler stay so that jobs queued by an older
// version still run.
type AutoConfirmArgs struct {
	IntentID string `json:"intent_id"`
}

// Kind names the job.
func (AutoConfirmArgs) Kind() string { return "sandbox_auto_confirm" }

// AutoConfirm is the handler of AutoConfirmArgs: it confirms the intent as
// succeeded, unless someone already confirmed, voided or removed it.
func (g *Gateway) AutoConfirm(ctx context.Context, args AutoConfirmArgs) error {
	_, err := g.Confirm(ctx, args.IntentID, ConfirmRequest{Outcome: OutcomeSucceeded})
	if fulfill.IsCode(err, fulfill.EConflict) || fulfill.IsCode(err, fulfill.ENotFound) {
		return nil
	}
	return err
}

// Intent returns one sandbox intent. ENotFound.
func (g *Gateway) Intent(ctx context.Context, id string) (*fulfill.SandboxIntent, error) {
	var si *fulfill.SandboxIntent
	err := g.store.View(ctx, func(tx fulfill.Tx) error {
		var err error
		si, err = tx.GetSandboxIntent(ctx, id)
		return err
	})
	return si, err
}
