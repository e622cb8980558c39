package app

import (
	"context"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// releaseHoldsBatch is how many orders' expired holds one transaction
// releases.
const releaseHoldsBatch = 200

// ReleaseHoldsArgs is the periodic job that releases expired checkout
// holds, so that their stock is available to the race again.
type ReleaseHoldsArgs struct{}

// Kind names the job.
func (ReleaseHoldsArgs) Kind() string { return "release_holds" }

// HoldStock places the optional soft hold at checkout (policy
// hold_at_checkout): inside the checkout's transaction it allocates the
// order like a payment would and reserves the units as holds that expire
// after Options.HoldTTL. When the stock can't cover the order it places no
// hold: the order still goes to payment and races normally. A no-op unless
// Options.HoldAtCheckout.
//
// It does not take Tx.LockAllocator (checkout must not queue behind the
// payment stage, and the checkout holds the order's row first, which the
// payment stage takes after the lock); the guarded MoveStock keeps it
// correct, a refused one only means no hold.
func (a *App) HoldStock(ctx context.Context, tx fulfill.Tx, o *fulfill.Order) error {
	if !a.opts.HoldAtCheckout {
		return nil
	}
	r, err := a.newReserver(ctx, tx)
	if err != nil {
		return err
	}
	exp := r.now.Add(a.opts.HoldTTL)
	_, short, err := r.reserve(ctx, o, fulfill.ReservationHold, &exp)
	switch {
	case fulfill.IsCode(err, fulfill.EInsufficient):
		return nil // stock moved under us three times: no hold
	case err != nil:
		return err
	case short != nil:
		return nil
	}
	return r.finish(ctx)
}

// useHolds turns o's checkout holds into its reservation when they are
// still live, and reports whether it did. Expired holds are released
// first and the order races normally. Holds are consulted only when
// Options.HoldAtCheckout is on; turning it off leaves existing holds to
// expire through release_holds.
func (r *reserver) useHolds(ctx context.Context, o *fulfill.Order) (bool, error) {
	if !r.a.opts.HoldAtCheckout {
		return false, nil
	}
	if err := r.flush(ctx); err != nil { // reads reservations
		return false, err
	}
	rs, err := r.tx.Reservations(ctx, o.ID)
	if err != nil {
		return false, err
	}
	holds, expired := 0, false
	for _, res := range rs {
		if res.Kind == fulfill.ReservationHold {
			holds++
			expired = expired || (res.ExpiresAt != nil && !res.ExpiresAt.After(r.now))
		}
	}
	if holds == 0 {
		return false, nil
	}
	if expired {
		return false, r.releaseHolds(ctx, o.ID, "hold expired before payment")
	}
	conv, err := r.tx.ConvertHolds(ctx, o.ID)
	if err != nil {
		return false, err
	}
	o.Allocations = sumAllocations(conv)
	return true, nil
}

// releaseHolds releases an order's holds and forgets the running counts
// of their SKUs.
func (r *reserver) releaseHolds(ctx context.Context, orderID, cause string) error {
	rs, err := r.tx.DeleteReservations(ctx, orderID, fulfill.ReservationHold)
	if err != nil {
		return err
	}
	for _, res := range rs {
		r.forget(res.SKU)
	}
	return r.a.releaseUnits(ctx, r.tx, orderID, rs, cause, r.now)
}

// sumAllocations adds reservations up per warehouse and SKU, in the order
// first seen.
func sumAllocations(rs []fulfill.Reservation) []fulfill.Allocation {
	var out []fulfill.Allocation
	idx := map[skuWh]int{}
	for _, r := range rs {
		k := skuWh{r.SKU, r.Warehouse}
		if i, ok := idx[k]; ok {
			out[i].Quantity += r.Quantity
			continue
		}
		idx[k] = len(out)
		out = append(out, fulfill.Allocation{Warehouse: r.Warehouse, SKU: r.SKU, Quantity: r.Quantity})
	}
	return out
}

// ReleaseHolds is the handler of release_holds: it releases expired holds
// in batches until none is left.
func (a *App) ReleaseHolds(ctx context.Context, _ ReleaseHoldsArgs) error {
	for {
		n, err := a.releaseHoldsBatch(ctx)
		if err != nil || n < releaseHoldsBatch {
			return err
		}
	}
}

// releaseHoldsBatch releases one batch and says how many orders it saw.
// It takes the allocator lock so that a payment batch never decides on
// counts this release is changing.
func (a *App) releaseHoldsBatch(ctx context.Context) (int, error) {
	var n int
	err := a.store.Update(ctx, func(tx fulfill.Tx) error {
		if err := tx.LockAllocator(ctx); err != nil {
			return err
		}
		now := a.clock.Now()
		ids, err := tx.ExpiredHolds(ctx, now, releaseHoldsBatch)
		if err != nil {
			return err
		}
		n = len(ids)
		for _, id := range ids {
			rs, err := tx.DeleteReservations(ctx, id, fulfill.ReservationHold)
			if err != nil {
				return err
			}
			if err := a.releaseUnits(ctx, tx, id, rs, "hold expired", now); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// ReleaseOrder releases all of an order's holds and reservations, each
// with one ledger row (kind release, cause "order <id>: <cause>"), then
// checks the low-stock thresholds it touched and queues serve_backorders
// for the freed units. Cancellation and expiry call it inside their
// transaction, after the order's transition.
func (a *App) ReleaseOrder(ctx context.Context, tx fulfill.Tx, o *fulfill.Order, cause string) error {
	rs, err := tx.DeleteReservations(ctx, o.ID, "")
	if err != nil {
		return err
	}
	return a.releaseUnits(ctx, tx, o.ID, rs, cause, a.clock.Now())
}

// releaseUnits moves the units of removed reservations back to available,
// then rechecks thresholds and backorders.
func (a *App) releaseUnits(ctx context.Context, tx fulfill.Tx, orderID string, rs []fulfill.Reservation, cause string, now time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	touched := map[skuWh]bool{}
	for _, r := range rs {
		_, err := tx.MoveStock(ctx, fulfill.StockMovement{SKU: r.SKU, Warehouse: r.Warehouse, Bin: r.Bin,
			Kind: fulfill.MoveRelease, ReservedDelta: -r.Quantity, Cause: "order " + orderID + ": " + cause,
			Actor: ActorSystem, At: now})
		if err != nil {
			return err
		}
		touched[skuWh{r.SKU, r.Warehouse}] = true
	}
	for k := range touched {
		if err := a.stockChanged(ctx, tx, k.sku, k.wh); err != nil {
			return err
		}
	}
	return a.stockArrived(ctx, tx)
}
