package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

var stockTests = map[string]func(*testing.T, Harness){
	"Movements":              testStockMovements,
	"InsufficientWritesNone": testStockInsufficientWritesNothing,
	"NotFound":               testStockNotFound,
	"LevelsAndBins":          testStockLevels,
	"LedgerSumsAndFilters":   testLedger,
	"ConcurrentReservations": testConcurrentReservations,
	"FailedUpdateLeavesNone": testFailedUpdateLeavesNothing,
}

// seedStock creates products P1, P2, warehouses W1 (bins) and W2
// (bin A-1).
func seedStock(t testing.TB, s fulfill.Store) {
	t.Helper()
	update(t, s, func(tx fulfill.Tx) error {
		ctx := t.Context()
		for _, sku := range []string{"P1", "P2"} {
			if err := tx.CreateProduct(ctx, newProduct(sku)); err != nil {
				return err
			}
		}
		for _, w := range []string{"W1", "W2"} {
			if err := tx.CreateWarehouse(ctx, newWarehouse(w)); err != nil {
				return err
			}
		}
		for _, b := range []*fulfill.Bin{newBin("W1", "A", "1", 20), newBin("W1", "A", "2", 10), newBin("W2", "A", "1", 1)} {
			if err := tx.CreateBin(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
}

const bin1, bin2 = "A-1-C-4", "A-2-C-4"

func mv(sku, wh, bin string, kind fulfill.MovementKind, onHand, reserved int64) fulfill.StockMovement {
	return fulfill.StockMovement{
		SKU: sku, Warehouse: wh, Bin: bin, Kind: kind,
		OnHandDelta: onHand, ReservedDelta: reserved,
		Cause: "test " + string(kind), Actor: "storetest", At: ts,
	}
}

// move applies m in its own Update and returns the ledger entry or error.
func move(t testing.TB, s fulfill.Store, m fulfill.StockMovement) (*fulfill.LedgerEntry, error) {
	t.Helper()
	var e *fulfill.LedgerEntry
	err := s.Update(t.Context(), func(tx fulfill.Tx) (err error) {
		e, err = tx.MoveStock(t.Context(), m)
		return err
	})
	return e, err
}

func binStock(t testing.TB, s fulfill.Store, f fulfill.StockFilter) []fulfill.BinStock {
	t.Helper()
	var out []fulfill.BinStock
	view(t, s, func(tx fulfill.Tx) (err error) {
		out, err = tx.BinStocks(t.Context(), f)
		return err
	})
	return out
}

func ledger(t testing.TB, s fulfill.Store, f fulfill.LedgerFilter) []fulfill.LedgerEntry {
	t.Helper()
	var out []fulfill.LedgerEntry
	view(t, s, func(tx fulfill.Tx) (err error) {
		out, err = tx.Ledger(t.Context(), f)
		return err
	})
	return out
}

func testStockMovements(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	steps := []struct {
		m                fulfill.StockMovement
		onHand, reserved int64
		wantInsufficient bool
	}{
		{mv("P1", "W1", bin1, fulfill.MoveReceipt, 10, 0), 10, 0, false},
		{mv("P1", "W1", bin1, fulfill.MoveAdjustment, -3, 0), 7, 0, false},
		{mv("P1", "W1", bin1, fulfill.MoveAdjustment, 5, 0), 12, 0, false},
		{mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 4), 12, 4, false},
		{mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 9), 12, 4, true}, // reserved > on hand
		{mv("P1", "W1", bin1, fulfill.MoveRelease, 0, -1), 12, 3, false},
		{mv("P1", "W1", bin1, fulfill.MoveRelease, 0, -5), 12, 3, true}, // reserved < 0
		{mv("P1", "W1", bin1, fulfill.MovePick, -2, -2), 10, 1, false},
		{mv("P1", "W1", bin1, fulfill.MoveAdjustment, -10, 0), 10, 1, true}, // on hand < reserved
		{mv("P1", "W1", bin1, fulfill.MovePick, -1, -1), 9, 0, false},
		{mv("P1", "W1", bin1, fulfill.MoveAdjustment, -10, 0), 9, 0, true}, // negative
		{mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 9), 9, 9, false}, // exactly all
	}
	for i, st := range steps {
		e, err := move(t, s, st.m)
		if st.wantInsufficient {
			wantCode(t, err, fulfill.EInsufficient)
		} else if err != nil {
			t.Fatalf("step %d (%s %+d/%+d): %v", i, st.m.Kind, st.m.OnHandDelta, st.m.ReservedDelta, err)
		} else {
			if e.ID <= 0 || e.SKU != "P1" || e.Warehouse != "W1" || e.Bin != bin1 || e.Kind != st.m.Kind ||
				e.OnHandDelta != st.m.OnHandDelta || e.ReservedDelta != st.m.ReservedDelta ||
				e.Cause != st.m.Cause || e.Actor != "storetest" || !e.At.Equal(ts) {
				t.Fatalf("step %d: ledger entry %+v does not echo the movement", i, e)
			}
			if e.OnHandAfter != st.onHand || e.ReservedAfter != st.reserved {
				t.Fatalf("step %d: after = %d/%d, want %d/%d", i, e.OnHandAfter, e.ReservedAfter, st.onHand, st.reserved)
			}
		}
		bs := binStock(t, s, fulfill.StockFilter{SKU: "P1", Warehouse: "W1"})
		if len(bs) != 1 || bs[0].OnHand != st.onHand || bs[0].Reserved != st.reserved || bs[0].Available != st.onHand-st.reserved {
			t.Fatalf("step %d: bin stock = %+v, want on hand %d reserved %d", i, bs, st.onHand, st.reserved)
		}
	}
	if n := len(ledger(t, s, fulfill.LedgerFilter{})); n != 8 {
		t.Fatalf("ledger has %d rows, want 8 (refused movements write none)", n)
	}
}

// testStockInsufficientWritesNothing checks that a refused movement leaves
// no trace and the transaction can go on and commit.
func testStockInsufficientWritesNothing(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	update(t, s, func(tx fulfill.Tx) error {
		ctx := t.Context()
		_, err := tx.MoveStock(ctx, mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 1)) // empty bin
		wantCode(t, err, fulfill.EInsufficient)
		_, err = tx.MoveStock(ctx, mv("P1", "W1", bin1, fulfill.MoveAdjustment, -1, 0))
		wantCode(t, err, fulfill.EInsufficient)
		// The transaction is still usable: receive into the other bin.
		_, err = tx.MoveStock(ctx, mv("P1", "W1", bin2, fulfill.MoveReceipt, 5, 0))
		return err
	})
	bs := binStock(t, s, fulfill.StockFilter{})
	if len(bs) != 1 || bs[0].Bin != bin2 || bs[0].OnHand != 5 {
		t.Fatalf("bin stock = %+v, want only %s with 5", bs, bin2)
	}
	if l := ledger(t, s, fulfill.LedgerFilter{}); len(l) != 1 || l[0].Bin != bin2 {
		t.Fatalf("ledger = %+v, want the one receipt", l)
	}
}

func testStockNotFound(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	for _, m := range []fulfill.StockMovement{
		mv("NOPE", "W1", bin1, fulfill.MoveReceipt, 1, 0),
		mv("P1", "NOPE", bin1, fulfill.MoveReceipt, 1, 0),
		mv("P1", "W1", "Z-9-9-9", fulfill.MoveReceipt, 1, 0),
		mv("P1", "W2", bin2, fulfill.MoveReceipt, 1, 0), // bin exists, but in W1
		mv("NOPE", "W1", bin1, fulfill.MoveReservation, 0, 1),
	} {
		_, err := move(t, s, m)
		wantCode(t, err, fulfill.ENotFound)
	}
	if n := len(ledger(t, s, fulfill.LedgerFilter{})); n != 0 {
		t.Fatalf("ledger has %d rows after refused movements", n)
	}
}

func testStockLevels(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	for _, m := range []fulfill.StockMovement{
		mv("P2", "W1", bin1, fulfill.MoveReceipt, 7, 0),
		mv("P1", "W1", bin1, fulfill.MoveReceipt, 10, 0),
		mv("P1", "W1", bin2, fulfill.MoveReceipt, 5, 0),
		mv("P1", "W1", bin2, fulfill.MoveReservation, 0, 2),
		mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 3),
		mv("P1", "W2", bin1, fulfill.MoveReceipt, 4, 0),
	} {
		if _, err := move(t, s, m); err != nil {
			t.Fatal(err)
		}
	}
	levels := func(f fulfill.StockFilter) []fulfill.StockLevel {
		var out []fulfill.StockLevel
		view(t, s, func(tx fulfill.Tx) (err error) {
			out, err = tx.StockLevels(t.Context(), f)
			return err
		})
		return out
	}
	want := []fulfill.StockLevel{
		{SKU: "P1", Warehouse: "W1", OnHand: 15, Reserved: 5, Available: 10},
		{SKU: "P1", Warehouse: "W2", OnHand: 4, Reserved: 0, Available: 4},
		{SKU: "P2", Warehouse: "W1", OnHand: 7, Reserved: 0, Available: 7},
	}
	if got := levels(fulfill.StockFilter{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("levels = %+v, want %+v", got, want)
	}
	if got := levels(fulfill.StockFilter{SKU: "P1"}); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("levels(P1) = %+v", got)
	}
	if got := levels(fulfill.StockFilter{Warehouse: "W1"}); !reflect.DeepEqual(got, []fulfill.StockLevel{want[0], want[2]}) {
		t.Fatalf("levels(W1) = %+v", got)
	}
	if got := levels(fulfill.StockFilter{SKU: "P2", Warehouse: "W2"}); len(got) != 0 {
		t.Fatalf("levels(P2,W2) = %+v, want none", got)
	}
	wantBins := []fulfill.BinStock{ // P1/W1: A-2 (seq 10) walks before A-1 (seq 20)
		{SKU: "P1", Warehouse: "W1", Bin: bin2, OnHand: 5, Reserved: 2, Available: 3},
		{SKU: "P1", Warehouse: "W1", Bin: bin1, OnHand: 10, Reserved: 3, Available: 7},
		{SKU: "P1", Warehouse: "W2", Bin: bin1, OnHand: 4, Reserved: 0, Available: 4},
		{SKU: "P2", Warehouse: "W1", Bin: bin1, OnHand: 7, Reserved: 0, Available: 7},
	}
	if got := binStock(t, s, fulfill.StockFilter{}); !reflect.DeepEqual(got, wantBins) {
		t.Fatalf("bin stock = %+v, want %+v", got, wantBins)
	}
	if got := binStock(t, s, fulfill.StockFilter{SKU: "P1", Warehouse: "W2"}); !reflect.DeepEqual(got, wantBins[2:3]) {
		t.Fatalf("bin stock(P1,W2) = %+v", got)
	}
	if got := binStock(t, s, fulfill.StockFilter{SKUs: []string{"P2", "NOPE"}}); !reflect.DeepEqual(got, wantBins[3:]) {
		t.Fatalf("bin stock(SKUs P2, NOPE) = %+v", got)
	}
	if got := binStock(t, s, fulfill.StockFilter{SKUs: []string{"P1", "P2"}, Warehouse: "W1"}); !reflect.DeepEqual(got, []fulfill.BinStock{wantBins[0], wantBins[1], wantBins[3]}) {
		t.Fatalf("bin stock(SKUs P1 P2, W1) = %+v", got)
	}
	if got := levels(fulfill.StockFilter{SKUs: []string{"P1"}}); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("levels(SKUs P1) = %+v", got)
	}
}

func testLedger(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	ms := []fulfill.StockMovement{
		mv("P1", "W1", bin1, fulfill.MoveReceipt, 20, 0),
		mv("P1", "W1", bin2, fulfill.MoveReceipt, 8, 0),
		mv("P2", "W2", bin1, fulfill.MoveReceipt, 3, 0),
		mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 6),
		mv("P1", "W1", bin1, fulfill.MovePick, -4, -4),
		mv("P1", "W1", bin2, fulfill.MoveAdjustment, -1, 0),
		mv("P2", "W2", bin1, fulfill.MoveAdjustment, 2, 0),
		mv("P1", "W1", bin1, fulfill.MoveRelease, 0, -1),
	}
	for _, m := range ms {
		if _, err := move(t, s, m); err != nil {
			t.Fatal(err)
		}
	}
	all := ledger(t, s, fulfill.LedgerFilter{})
	if len(all) != len(ms) {
		t.Fatalf("ledger has %d rows, want %d", len(all), len(ms))
	}
	type key struct{ sku, wh, bin string }
	sums := map[key][2]int64{}
	for i, e := range all {
		if i > 0 && e.ID <= all[i-1].ID {
			t.Fatalf("ledger ids not increasing: %d then %d", all[i-1].ID, e.ID)
		}
		if e.Kind != ms[i].Kind || e.OnHandDelta != ms[i].OnHandDelta {
			t.Fatalf("ledger row %d = %+v, want movement %+v", i, e, ms[i])
		}
		k := key{e.SKU, e.Warehouse, e.Bin}
		sum := sums[k]
		sum[0] += e.OnHandDelta
		sum[1] += e.ReservedDelta
		sums[k] = sum
		if e.OnHandAfter != sum[0] || e.ReservedAfter != sum[1] {
			t.Fatalf("row %d after = %d/%d, running sum %d/%d", i, e.OnHandAfter, e.ReservedAfter, sum[0], sum[1])
		}
	}
	bins := binStock(t, s, fulfill.StockFilter{})
	if len(bins) != len(sums) {
		t.Fatalf("%d bin stock rows, %d ledger keys", len(bins), len(sums))
	}
	for _, b := range bins {
		if sum := sums[key{b.SKU, b.Warehouse, b.Bin}]; sum[0] != b.OnHand || sum[1] != b.Reserved {
			t.Fatalf("bin %+v differs from ledger sum %v", b, sum)
		}
	}
	// Filters and paging.
	if got := ledger(t, s, fulfill.LedgerFilter{SKU: "P2"}); len(got) != 2 || got[0].SKU != "P2" || got[1].SKU != "P2" {
		t.Fatalf("ledger(P2) = %+v", got)
	}
	if got := ledger(t, s, fulfill.LedgerFilter{Warehouse: "W1"}); len(got) != 6 {
		t.Fatalf("ledger(W1) has %d rows, want 6", len(got))
	}
	var paged []fulfill.LedgerEntry
	after := int64(0)
	for range 10 {
		page := ledger(t, s, fulfill.LedgerFilter{AfterID: after, Limit: 3})
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	if !reflect.DeepEqual(paged, all) {
		t.Fatalf("paged ledger differs from the full one")
	}
}

// testConcurrentReservations races 50 writers for 100 units, 3 each:
// exactly 33 win and stock never goes negative.
func testConcurrentReservations(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	if _, err := move(t, s, mv("P1", "W1", bin1, fulfill.MoveReceipt, 100, 0)); err != nil {
		t.Fatal(err)
	}
	const workers = 50
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := mv("P1", "W1", bin1, fulfill.MoveReservation, 0, 3)
			m.Cause = fmt.Sprintf("order %d", i)
			_, err := move(t, s, m)
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case fulfill.IsCode(err, fulfill.EInsufficient):
		default:
			t.Errorf("reservation failed with %v, want nil or insufficient_stock", err)
		}
	}
	if won != 33 {
		t.Fatalf("%d reservations won, want exactly 33", won)
	}
	bs := binStock(t, s, fulfill.StockFilter{SKU: "P1"})
	if len(bs) != 1 || bs[0].OnHand != 100 || bs[0].Reserved != 99 || bs[0].Available != 1 {
		t.Fatalf("bin stock = %+v, want 100 on hand, 99 reserved", bs)
	}
	if n := len(ledger(t, s, fulfill.LedgerFilter{Limit: 1000})); n != 34 {
		t.Fatalf("ledger has %d rows, want 34", n)
	}
}

var errBoom = errors.New("boom")

// testFailedUpdateLeavesNothing checks that an Update whose fn fails rolls
// back every write, the enqueued job included.
func testFailedUpdateLeavesNothing(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	err := s.Update(t.Context(), func(tx fulfill.Tx) error {
		ctx := t.Context()
		if err := tx.CreateProduct(ctx, newProduct("GHOST")); err != nil {
			return err
		}
		if _, err := tx.MoveStock(ctx, mv("GHOST", "W1", bin1, fulfill.MoveReceipt, 5, 0)); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, newKey("key_ghost", "ghost")); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, testJob{Key: "ghost"}, nil); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update error = %v, want the fn's error", err)
	}
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.GetProduct(t.Context(), "GHOST")
		wantCode(t, err, fulfill.ENotFound)
		_, err = tx.APIKeyByHash(t.Context(), "hash-ghost")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
	if bs := binStock(t, s, fulfill.StockFilter{}); len(bs) != 0 {
		t.Fatalf("bin stock after rollback: %+v", bs)
	}
	if l := ledger(t, s, fulfill.LedgerFilter{}); len(l) != 0 {
		t.Fatalf("ledger after rollback: %+v", l)
	}
	jobs, _, err := s.Jobs().List(t.Context(), fulfill.JobFilter{})
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after rollback = %v, %v", jobs, err)
	}
}
