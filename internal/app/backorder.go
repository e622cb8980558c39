package app

import (
	"context"

	"github.com/fulfill-dev/fulfill"
)

// backorderBatch is how many backordered orders one transaction considers.
const backorderBatch = 500

// ServeBackordersArgs is the job that reserves stock for backordered
// orders, first come first served (by payment confirmation), after stock
// arrives. Releases (cancellations, expiries) queue it in their own
// transaction when backorders wait; receipts, positive adjustments and
// imports serve backorders at once (afterStockMove) and queue it only for
// what is left beyond one batch.
type ServeBackordersArgs struct{}

// Kind names the job.
func (ServeBackordersArgs) Kind() string { return "serve_backorders" }

// ServeBackorders is the handler of serve_backorders. Orders are served in
// confirmation order with the payment stage's reservation code
// (backordered → reserved, cause "stock received"). An order that still
// can't be served keeps its place, and the SKUs it is short of are closed
// to the orders behind it in this run, so a later order never takes units
// an earlier one waits for; orders for other SKUs are still served.
func (a *App) ServeBackorders(ctx context.Context, _ ServeBackordersArgs) error {
	for {
		more, err := a.serveBackorderBatch(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// serveBackorderBatch serves one batch and reports whether another batch
// may serve more.
func (a *App) serveBackorderBatch(ctx context.Context) (bool, error) {
	var more bool
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		more, err = a.serveBackordersIn(ctx, tx)
		return err
	})
	return more, err
}

// serveBackordersIn serves one batch of backorders in tx, under the
// allocator lock, and reports whether another batch may serve more.
func (a *App) serveBackordersIn(ctx context.Context, tx fulfill.Tx) (bool, error) {
	if err := tx.LockAllocator(ctx); err != nil {
		return false, err
	}
	orders, err := tx.BackorderedOrders(ctx, backorderBatch)
	if err != nil {
		return false, err
	}
	r, err := a.newReserver(ctx, tx)
	if err != nil {
		return false, err
	}
	r.buffered = true
	served, err := r.serveBackorders(ctx, orders)
	if err != nil {
		return false, err
	}
	return len(orders) == backorderBatch && served > 0, r.finish(ctx)
}

// serveBackorders tries each order in turn and returns how many it
// reserved.
func (r *reserver) serveBackorders(ctx context.Context, orders []fulfill.Order) (int, error) {
	closed := map[string]bool{}
	served := 0
	if err := r.adopt(ctx, orders); err != nil {
		return 0, err
	}
	for i := range orders {
		_, skus := allocLines(orders[i].Lines)
		if anyClosed(closed, skus) {
			for _, s := range skus {
				closed[s] = true
			}
			continue
		}
		fu, err := r.update(ctx, orders[i].ID, func(o *fulfill.Order, fu *followUp) error {
			if o.Status != fulfill.StatusBackordered {
				return errUnchanged
			}
			return r.settle(ctx, o, fu, true)
		})
		if err != nil {
			return served, err
		}
		if fu.order == nil || fu.order.Status != fulfill.StatusReserved {
			for _, s := range skus {
				closed[s] = true
			}
			continue
		}
		served++
	}
	return served, nil
}

func anyClosed(closed map[string]bool, skus []string) bool {
	for _, s := range skus {
		if closed[s] {
			return true
		}
	}
	return false
}

// stockArrived queues serve_backorders in tx when any order waits for
// stock. The job is cheap and idempotent, so several queued at once only
// cost a query each.
func (a *App) stockArrived(ctx context.Context, tx fulfill.Tx) error {
	waiting, err := tx.BackorderedOrders(ctx, 1)
	if err != nil || len(waiting) == 0 {
		return err
	}
	return tx.Enqueue(ctx, ServeBackordersArgs{}, nil)
}

// afterStockMove is the hook of receipts, adjustments and imports: when
// stock went up and orders wait on backorder, it serves them in the same
// transaction, under the allocator lock, so the payment stage can never
// hand the new units to a newer order first (the rest, beyond one batch,
// goes to serve_backorders); then it checks the SKU's low-stock threshold
// in the warehouse.
func (a *App) afterStockMove(ctx context.Context, tx fulfill.Tx, m fulfill.StockMovement) error {
	if m.OnHandDelta-m.ReservedDelta > 0 {
		waiting, err := tx.BackorderedOrders(ctx, 1)
		if err != nil {
			return err
		}
		if len(waiting) > 0 {
			more, err := a.serveBackordersIn(ctx, tx)
			if err != nil {
				return err
			}
			if more {
				if err := tx.Enqueue(ctx, ServeBackordersArgs{}, &fulfill.JobOpts{Coalesce: true}); err != nil {
					return err
				}
			}
		}
	}
	return a.stockChanged(ctx, tx, m.SKU, m.Warehouse)
}
