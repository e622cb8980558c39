package app

import (
	"context"
	"errors"

	"github.com/fulfill-dev/fulfill"
)

// expireBatch is how many expired orders one transaction cancels.
const expireBatch = 200

// ExpireOrdersArgs is the periodic job that cancels unpaid orders past
// their ExpiresAt (cause "expired") and releases their holds.
type ExpireOrdersArgs struct{}

// Kind names the job.
func (ExpireOrdersArgs) Kind() string { return "expire_orders" }

// ExpireOrders cancels expired pending_payment orders in batches of
// expireBatch per transaction until none is left.
func (a *App) ExpireOrders(ctx context.Context, _ ExpireOrdersArgs) error {
	total := 0
	for {
		n, more, err := a.expireBatch(ctx)
		total += n
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	if total > 0 {
		a.log.InfoContext(ctx, "expired unpaid orders", "count", total)
	}
	return nil
}

// expireBatch cancels one batch and reports how many it cancelled and
// whether another batch may follow.
func (a *App) expireBatch(ctx context.Context) (int, bool, error) {
	now := a.clock.Now()
	var n, seen int
	err := a.store.Update(ctx, func(tx fulfill.Tx) error {
		ids, err := tx.ExpiredOrders(ctx, now, expireBatch)
		if err != nil {
			return err
		}
		seen = len(ids)
		for _, id := range ids {
			_, err := a.cancelInTx(ctx, tx, id, fulfill.StatusPendingPayment, "expired")
			switch {
			case errors.Is(err, errSkip), fulfill.IsCode(err, fulfill.EConflict):
				continue // paid or cancelled meanwhile
			case err != nil:
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, seen == expireBatch && n > 0, nil
}
