package app_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// movesStore is a store whose transactions call MoveStocksFunc, when set,
// instead of the real Tx.MoveStocks (which it receives as next).
type movesStore struct {
	fulfill.Store
	MoveStocksFunc func(ctx context.Context, tx fulfill.Tx, ms []fulfill.StockMovement) error
}

// Update wraps the transaction so that MoveStocks goes through the func.
func (s *movesStore) Update(ctx context.Context, fn func(fulfill.Tx) error) error {
	return s.Store.Update(ctx, func(tx fulfill.Tx) error { return fn(&movesTx{Tx: tx, s: s}) })
}

type movesTx struct {
	fulfill.Tx
	s *movesStore
}

func (t *movesTx) MoveStocks(ctx context.Context, ms []fulfill.StockMovement) error {
	if t.s.MoveStocksFunc != nil {
		return t.s.MoveStocksFunc(ctx, t.Tx, ms)
	}
	return t.Tx.MoveStocks(ctx, ms)
}

// TestStockChangedUnderBatch: an operator removes 10 of the last 100 units
// after the payment batch read its running counts and before its deferred
// stock movements are applied. The guarded movements refuse, the batch
// rolls back and runs again move by move: no oversell, and the winners are
// still the earliest confirmations. On PostgreSQL the removal commits in
// its own transaction (so 90 orders win); SQLite's single writer makes
// that impossible, so there the removal is made inside the batch's own
// transaction (and rolled back with it: 100 win).
func TestStockChangedUnderBatch(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		inner := open(t)
		concurrent := inner.Engine() == "postgres"
		st := &movesStore{Store: inner}
		f := newFixture(t, st, app.Options{DefaultPolicy: fulfill.PolicyVoid})
		f.product("HOT-1", "")
		f.warehouse("BLR", bengaluru, 1)
		f.receive("HOT-1", "BLR", 1, 100)
		orders := f.orders(150, orderSpec{lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}},
			capture: fulfill.CaptureManual, addr: fulfill.Address{Lat: mysuru.Lat, Lon: mysuru.Lon}})
		evs := make([]*fulfill.WebhookEvent, len(orders))
		at := map[string]time.Time{}
		for i, o := range orders {
			at[o.ID] = f.now.Add(time.Duration(len(orders)-i) * time.Millisecond) // reverse arrival order
			evs[i] = event(o, fulfill.PaymentSucceeded, at[o.ID])
		}
		f.insertEvents(evs)

		var mu sync.Mutex
		var refused []error
		removal := fulfill.StockMovement{SKU: "HOT-1", Warehouse: "BLR", Bin: "A-1-A-1", Kind: fulfill.MoveAdjustment,
			OnHandDelta: -10, Cause: "damaged", Actor: "operator", At: f.now}
		st.MoveStocksFunc = func(ctx context.Context, tx fulfill.Tx, ms []fulfill.StockMovement) error {
			mu.Lock()
			first := len(refused) == 0
			mu.Unlock()
			if first {
				var err error
				if concurrent {
					err = inner.Update(ctx, func(tx fulfill.Tx) error { _, err := tx.MoveStock(ctx, removal); return err })
				} else {
					_, err = tx.MoveStock(ctx, removal)
				}
				if err != nil {
					return err
				}
			}
			err := tx.MoveStocks(ctx, ms)
			if first {
				mu.Lock()
				refused = append(refused, err)
				mu.Unlock()
			}
			return err
		}
		f.process(1)

		if len(refused) == 0 || !fulfill.IsCode(refused[0], fulfill.EInsufficient) {
			t.Fatalf("deferred movements after the removal = %v, want EInsufficient", refused)
		}
		want := 100
		if concurrent {
			want = 90
		}
		byConfirm := append([]*fulfill.Order(nil), orders...)
		sort.Slice(byConfirm, func(i, j int) bool { return at[byConfirm[i].ID].Before(at[byConfirm[j].ID]) })
		for i, o := range byConfirm {
			got := f.order(o.ID)
			if (i < want) != (got.Status == fulfill.StatusReserved) {
				t.Fatalf("order #%d by confirmation is %s; want the first %d reserved", i+1, got.Status, want)
			}
		}
		checkStock(t, inner, ids(orders))
	})
}
