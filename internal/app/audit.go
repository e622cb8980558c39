package app

import (
	"context"

	"github.com/fulfill-dev/fulfill"
)

// AuditStockArgs is the job that checks the inventory ledger against bin
// stock. It has no arguments.
type AuditStockArgs struct{}

// Kind names the job.
func (AuditStockArgs) Kind() string { return "audit_stock" }

// stockKey addresses one SKU in one bin.
type stockKey struct{ sku, warehouse, bin string }

// AuditStock is the handler of the audit_stock job: for every SKU and bin
// it compares the sum of the ledger's deltas with the bin's on hand and
// reserved, logs each mismatch, and fails (so the job shows up as failing
// in the queue) when there is any.
func (a *App) AuditStock(ctx context.Context, _ AuditStockArgs) error {
	var mismatches int
	err := a.store.View(ctx, func(tx fulfill.Tx) error {
		sums, err := ledgerSums(ctx, tx)
		if err != nil {
			return err
		}
		stocks, err := tx.BinStocks(ctx, fulfill.StockFilter{})
		if err != nil {
			return err
		}
		mismatches = a.compareStock(ctx, sums, stocks)
		return nil
	})
	if err != nil {
		return err
	}
	if mismatches > 0 {
		return fulfill.Errorf(fulfill.EConflict, "stock audit found %d mismatches between the ledger and bin stock", mismatches)
	}
	a.log.InfoContext(ctx, "stock audit clean")
	return nil
}

// ledgerSums adds up the whole ledger per SKU and bin, one page at a time.
func ledgerSums(ctx context.Context, tx fulfill.Tx) (map[stockKey][2]int64, error) {
	sums := map[stockKey][2]int64{}
	var after int64
	for {
		rows, err := tx.Ledger(ctx, fulfill.LedgerFilter{AfterID: after, Limit: MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, e := range rows {
			k := stockKey{e.SKU, e.Warehouse, e.Bin}
			s := sums[k]
			sums[k] = [2]int64{s[0] + e.OnHandDelta, s[1] + e.ReservedDelta}
		}
		if len(rows) < MaxLimit {
			return sums, nil
		}
		after = rows[len(rows)-1].ID
	}
}

// compareStock logs every SKU and bin whose stock differs from its ledger
// sum and returns how many do.
func (a *App) compareStock(ctx context.Context, sums map[stockKey][2]int64, stocks []fulfill.BinStock) int {
	n := 0
	for _, s := range stocks {
		k := stockKey{s.SKU, s.Warehouse, s.Bin}
		want := sums[k]
		delete(sums, k)
		if want[0] != s.OnHand || want[1] != s.Reserved {
			n++
			a.log.ErrorContext(ctx, "stock audit mismatch", "sku", s.SKU, "warehouse", s.Warehouse, "bin", s.Bin,
				"on_hand", s.OnHand, "ledger_on_hand", want[0], "reserved", s.Reserved, "ledger_reserved", want[1])
		}
	}
	for k, want := range sums {
		if want != [2]int64{} {
			n++
			a.log.ErrorContext(ctx, "stock audit mismatch: ledger rows without bin stock", "sku", k.sku,
				"warehouse", k.warehouse, "bin", k.bin, "ledger_on_hand", want[0], "ledger_reserved", want[1])
		}
	}
	return n
}
