package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fulfill-dev/fulfill"
)

// Low-stock alerts. A threshold belongs to one SKU in one warehouse. After
// any movement that changes available stock (reservations, releases,
// receipts, adjustments, imports) the threshold is checked in the same
// transaction: when available falls to the threshold or below and the
// threshold was not already low, it is marked low and a stock.low
// notification is queued; when available rises above it again, the low
// mark is cleared, so that the next crossing alerts again. The dedupe key
// carries the crossing's time, so each crossing is one notification.

// lowPayload is the payload of a stock.low notification.
type lowPayload struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	Available int64  `json:"available"`
	Threshold int64  `json:"threshold"`
}

// SetStockThreshold sets the low-stock threshold of sku in warehouse and
// checks it against the current stock at once (a threshold set above the
// stock alerts now). EInvalid; ENotFound for an unknown SKU or warehouse.
func (a *App) SetStockThreshold(ctx context.Context, actor, sku, warehouse string, threshold int64) (*fulfill.StockThreshold, error) {
	if err := fulfill.ValidateSKU("sku", sku); err != nil {
		return nil, err
	}
	if err := fulfill.ValidateCode("warehouse", warehouse); err != nil {
		return nil, err
	}
	if threshold < 0 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "threshold", "threshold must not be negative")
	}
	var out *fulfill.StockThreshold
	err := a.store.Update(ctx, func(tx fulfill.Tx) error {
		if err := tx.SetStockThreshold(ctx, fulfill.StockThreshold{SKU: sku, Warehouse: warehouse, Threshold: threshold}); err != nil {
			return err
		}
		if err := a.stockChanged(ctx, tx, sku, warehouse); err != nil {
			return err
		}
		ths, err := tx.StockThresholds(ctx, sku)
		for i := range ths {
			if ths[i].Warehouse == warehouse {
				out = &ths[i]
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fulfill.Errorf(fulfill.EInternal, "threshold of %s in %s was not stored", sku, warehouse)
	}
	a.audit(ctx, actor, "stock.threshold", "sku", sku, "warehouse", warehouse, "threshold", threshold)
	return out, nil
}

// StockThresholds returns the low-stock thresholds of sku (all when empty),
// by SKU then warehouse.
func (a *App) StockThresholds(ctx context.Context, sku string) ([]fulfill.StockThreshold, error) {
	var ths []fulfill.StockThreshold
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		ths, err = tx.StockThresholds(ctx, sku)
		return err
	})
	if ths == nil && err == nil {
		ths = []fulfill.StockThreshold{}
	}
	return ths, err
}

// stockChanged checks the thresholds of sku in warehouse wh against the
// stored stock, inside tx.
func (a *App) stockChanged(ctx context.Context, tx fulfill.Tx, sku, wh string) error {
	levels, err := tx.StockLevels(ctx, fulfill.StockFilter{SKU: sku, Warehouse: wh})
	if err != nil {
		return err
	}
	var avail int64
	for _, l := range levels {
		if l.SKU == sku && l.Warehouse == wh {
			avail += l.Available
		}
	}
	return a.checkThresholds(ctx, tx, sku, map[string]int64{wh: avail})
}

// checkThresholds compares sku's thresholds in the warehouses of avail
// with their available counts and records each crossing.
func (a *App) checkThresholds(ctx context.Context, tx fulfill.Tx, sku string, avail map[string]int64) error {
	ths, err := tx.StockThresholds(ctx, sku)
	if err != nil {
		return err
	}
	return a.checkEach(ctx, tx, ths, func(s, wh string) (int64, bool) {
		n, ok := avail[wh]
		return n, ok && s == sku
	})
}

// checkEach checks each threshold for which avail knows the count.
func (a *App) checkEach(ctx context.Context, tx fulfill.Tx, ths []fulfill.StockThreshold, avail func(sku, wh string) (int64, bool)) error {
	for _, th := range ths {
		n, ok := avail(th.SKU, th.Warehouse)
		if !ok {
			continue
		}
		if err := a.crossing(ctx, tx, th, n); err != nil {
			return err
		}
	}
	return nil
}

// crossing records a change of side of one threshold: down queues
// stock.low, up clears the mark.
func (a *App) crossing(ctx context.Context, tx fulfill.Tx, th fulfill.StockThreshold, available int64) error {
	low := available <= th.Threshold
	if low == th.Low {
		return nil
	}
	if err := tx.MarkStockLow(ctx, th.SKU, th.Warehouse, low); err != nil {
		return err
	}
	if !low {
		return nil
	}
	body, err := json.Marshal(lowPayload{SKU: th.SKU, Warehouse: th.Warehouse, Available: available, Threshold: th.Threshold})
	if err != nil {
		return fulfill.Wrap(err, "stock.low payload")
	}
	now := a.clock.Now()
	_, err = tx.AddNotification(ctx, &fulfill.Notification{Event: EventStockLow, Payload: body, CreatedAt: now,
		DedupeKey: fmt.Sprintf("%s:%s:%s:%d", EventStockLow, th.SKU, th.Warehouse, now.UnixNano())})
	return err
}
