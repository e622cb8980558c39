package app

import (
	"context"
	"errors"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// GetOrder returns an order with its lines, payment, allocations and
// timeline. ENotFound.
func (a *App) GetOrder(ctx context.Context, id string) (*fulfill.Order, error) {
	var o *fulfill.Order
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		o, err = tx.GetOrder(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// OrderListParams selects one page of orders, newest first.
type OrderListParams struct {
	// Status filters when set.
	Status string
	Cursor string
	Limit  int
}

// ListOrders returns one page of orders and the cursor of the next page.
// EInvalid for an unknown status, a bad cursor or limit.
func (a *App) ListOrders(ctx context.Context, lp OrderListParams) ([]fulfill.Order, string, error) {
	st := fulfill.OrderStatus(lp.Status)
	if st != "" && !st.Valid() {
		return nil, "", fulfill.FieldErrorf(fulfill.EInvalid, "status", "status %q is not an order status", lp.Status)
	}
	page, limit, err := ListParams{Cursor: lp.Cursor, Limit: lp.Limit}.storePage()
	if err != nil {
		return nil, "", err
	}
	var rows []fulfill.Order
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.ListOrders(ctx, fulfill.OrderFilter{Status: st, Page: page})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(o fulfill.Order) string { return o.ID })
	return rows, next, nil
}

// CancelInput is the optional body of POST /v1/orders/{id}/cancel.
type CancelInput struct {
	// Reason is recorded in the timeline (default "cancelled by <actor>").
	Reason string `json:"reason"`
}

// CancelOrder cancels an order by the transition table, releases its holds
// and reservations, and, when the shopper had paid, queues the void or the
// refund of the payment, all in one transaction. ENotFound; EConflict when
// the order's status can't move to cancelled (shipped, delivered, …).
func (a *App) CancelOrder(ctx context.Context, actor, id string, in CancelInput) (*fulfill.Order, error) {
	cause := strings.TrimSpace(in.Reason)
	if len(cause) > 500 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "reason", "reason must be at most 500 characters")
	}
	if cause == "" {
		cause = "cancelled by " + actor
	}
	var o *fulfill.Order
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		o, err = a.cancelInTx(ctx, tx, id, "", cause)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "order.cancel", "order", id, "cause", cause)
	return o, nil
}

// errSkip aborts an UpdateOrder whose order no longer needs the change.
var errSkip = errors.New("order skipped")

// cancelInTx cancels order id inside tx. When only is set, an order not in
// that status is left alone and errSkip returned.
func (a *App) cancelInTx(ctx context.Context, tx fulfill.Tx, id string, only fulfill.OrderStatus, cause string) (*fulfill.Order, error) {
	now := a.clock.Now()
	var paid bool
	o, err := tx.UpdateOrder(ctx, id, func(o *fulfill.Order) error {
		if only != "" && o.Status != only {
			return errSkip
		}
		paid = paymentTaken(o)
		return o.Transition(fulfill.StatusCancelled, cause, now)
	})
	if err != nil {
		return nil, err
	}
	if err := a.ReleaseOrder(ctx, tx, o, cause); err != nil {
		return nil, err
	}
	if paid {
		if err := a.enqueueReversal(ctx, tx, o, cause); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// paymentTaken reports whether the shopper's money was authorized or
// captured: the order was confirmed paid and is past the payment stage.
func paymentTaken(o *fulfill.Order) bool {
	switch o.Status {
	case fulfill.StatusPendingPayment, fulfill.StatusPaymentFailed, fulfill.StatusCancelled, fulfill.StatusRefunded:
		return false
	}
	return o.Payment.ConfirmedAt != nil || o.Status != fulfill.StatusException
}

// enqueueReversal queues the void (manual capture) or refund (automatic) of
// a cancelled order's payment through the gateway; the payment jobs (W4's,
// payments.go) do the gateway call with retries.
func (a *App) enqueueReversal(ctx context.Context, tx fulfill.Tx, o *fulfill.Order, cause string) error {
	if o.Payment.Capture == fulfill.CaptureManual {
		return tx.Enqueue(ctx, VoidPaymentArgs{OrderID: o.ID, Reason: cause}, nil)
	}
	return tx.Enqueue(ctx, RefundPaymentArgs{OrderID: o.ID, Reason: cause}, nil)
}
