package app

import (
	"context"
	"strconv"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// Receipt is goods arriving in one bin.
type Receipt struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	Bin       string `json:"bin"`
	// Quantity must be positive.
	Quantity int64 `json:"quantity"`
	// Reference is an optional delivery note or purchase order number.
	Reference string `json:"reference"`
}

// Adjustment corrects the count of one SKU in one bin.
type Adjustment struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	Bin       string `json:"bin"`
	// QuantityDelta is added to on hand; it must not be zero.
	QuantityDelta int64 `json:"quantity_delta"`
	// Reason is required: why the count was wrong.
	Reason string `json:"reason"`
}

// validateLocation checks the sku, warehouse and bin of a movement.
func validateLocation(sku, warehouse, bin string) error {
	if err := fulfill.ValidateSKU("sku", sku); err != nil {
		return err
	}
	if err := fulfill.ValidateCode("warehouse", warehouse); err != nil {
		return err
	}
	if strings.TrimSpace(bin) == "" {
		return fulfill.FieldErrorf(fulfill.EInvalid, "bin", "bin is required")
	}
	return nil
}

// ReceiveStock adds goods to a bin and returns the ledger row. EInvalid;
// ENotFound when the SKU, warehouse or bin does not exist; EConflict when
// the bin is inactive.
func (a *App) ReceiveStock(ctx context.Context, actor string, r Receipt) (*fulfill.LedgerEntry, error) {
	if err := validateLocation(r.SKU, r.Warehouse, r.Bin); err != nil {
		return nil, err
	}
	if r.Quantity <= 0 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "quantity", "quantity must be greater than zero")
	}
	if len(r.Reference) > 200 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "reference", "reference must be at most 200 characters")
	}
	cause := "receipt"
	if r.Reference != "" {
		cause = "receipt " + r.Reference
	}
	m := fulfill.StockMovement{
		SKU: r.SKU, Warehouse: r.Warehouse, Bin: r.Bin, Kind: fulfill.MoveReceipt,
		OnHandDelta: r.Quantity, Cause: cause, Actor: actor, At: a.clock.Now(),
	}
	var e *fulfill.LedgerEntry
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		b, err := tx.GetBin(ctx, r.Warehouse, r.Bin)
		if err != nil {
			return err
		}
		if !b.Active {
			return fulfill.FieldErrorf(fulfill.EConflict, "bin", "bin %s is inactive", r.Bin)
		}
		if e, err = tx.MoveStock(ctx, m); err != nil {
			return err
		}
		return a.afterStockMove(ctx, tx, m) // backorders first, low-stock check (backorder.go)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// AdjustStock corrects on hand by a non-zero delta with a reason and
// returns the ledger row. EInvalid; ENotFound; EInsufficient when a
// negative delta would leave on hand below reserved or below zero.
func (a *App) AdjustStock(ctx context.Context, actor string, adj Adjustment) (*fulfill.LedgerEntry, error) {
	if err := validateLocation(adj.SKU, adj.Warehouse, adj.Bin); err != nil {
		return nil, err
	}
	if adj.QuantityDelta == 0 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "quantity_delta", "quantity_delta must not be zero")
	}
	if strings.TrimSpace(adj.Reason) == "" || len(adj.Reason) > 500 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "reason", "reason is required (at most 500 characters)")
	}
	m := fulfill.StockMovement{
		SKU: adj.SKU, Warehouse: adj.Warehouse, Bin: adj.Bin, Kind: fulfill.MoveAdjustment,
		OnHandDelta: adj.QuantityDelta, Cause: adj.Reason, Actor: actor, At: a.clock.Now(),
	}
	return a.move(ctx, m)
}

// move applies one movement in its own transaction, with the hook of
// backorders and low-stock thresholds (backorder.go).
func (a *App) move(ctx context.Context, m fulfill.StockMovement) (*fulfill.LedgerEntry, error) {
	var e *fulfill.LedgerEntry
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		if e, err = tx.MoveStock(ctx, m); err != nil {
			return err
		}
		return a.afterStockMove(ctx, tx, m)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// StockLevels returns stock per SKU and warehouse.
func (a *App) StockLevels(ctx context.Context, f fulfill.StockFilter) ([]fulfill.StockLevel, error) {
	var rows []fulfill.StockLevel
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.StockLevels(ctx, f)
		return err
	})
	if rows == nil && err == nil {
		rows = []fulfill.StockLevel{}
	}
	return rows, err
}

// BinStocks returns stock per SKU and bin.
func (a *App) BinStocks(ctx context.Context, f fulfill.StockFilter) ([]fulfill.BinStock, error) {
	var rows []fulfill.BinStock
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.BinStocks(ctx, f)
		return err
	})
	if rows == nil && err == nil {
		rows = []fulfill.BinStock{}
	}
	return rows, err
}

// LedgerParams selects one page of the ledger.
type LedgerParams struct {
	SKU       string
	Warehouse string
	Cursor    string
	Limit     int
}

// Ledger returns one page of ledger rows in id order and the cursor of the
// next page. EInvalid for a bad cursor or limit.
func (a *App) Ledger(ctx context.Context, lp LedgerParams) ([]fulfill.LedgerEntry, string, error) {
	limit, err := ListParams{Limit: lp.Limit}.limit()
	if err != nil {
		return nil, "", err
	}
	after, err := decodeIDCursor(lp.Cursor)
	if err != nil {
		return nil, "", err
	}
	f := fulfill.LedgerFilter{SKU: lp.SKU, Warehouse: lp.Warehouse, AfterID: after, Limit: limit + 1}
	var rows []fulfill.LedgerEntry
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.Ledger(ctx, f)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(e fulfill.LedgerEntry) string { return strconv.FormatInt(e.ID, 10) })
	return rows, next, nil
}
