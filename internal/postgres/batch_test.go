package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/postgres"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// errRollback ends a trial's transaction without keeping anything.
var errRollback = errors.New("roll back")

// moveOutcome is what a list of movements did: the first error, the bin
// rows and the ledger rows (without ids, in id order).
type moveOutcome struct {
	err    string
	bins   []string
	ledger []string
}

// TestMoveStocksMatchesOneByOne applies random lists of movements with
// MoveStocks and, from the same start, with one MoveStock each (its
// documented meaning), and expects the same first error and, when none
// failed, the same stock and ledger. The lists mix one-way bins (applied
// set-wise) with bins moved both ways, unknown SKUs and bins, missing
// rows, and refusals at every position.
func TestMoveStocksMatchesOneByOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.Open(t, h.NewDB(t), queue.Config{}).(*postgres.Store)
	ctx := t.Context()
	err := s.Update(ctx, func(tx fulfill.Tx) error {
		for _, sku := range []string{"P1", "P2"} {
			if err := tx.CreateProduct(ctx, &fulfill.Product{SKU: sku, Name: sku, Price: fulfill.Money{Currency: "INR"}}); err != nil {
				return err
			}
		}
		if err := tx.CreateWarehouse(ctx, &fulfill.Warehouse{Code: "W1", Name: "W", CutoffTime: "16:00", TimeZone: "UTC"}); err != nil {
			return err
		}
		for _, b := range []string{"B1", "B2"} {
			if err := tx.CreateBin(ctx, &fulfill.Bin{Warehouse: "W1", Code: b, Zone: "A", Aisle: "1", Rack: "1", Shelf: "1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		seed, ms := randomMoves(rng)
		batch := runMoves(t, s, seed, func(ctx context.Context, tx fulfill.Tx) error { return tx.MoveStocks(ctx, ms) })
		single := runMoves(t, s, seed, func(ctx context.Context, tx fulfill.Tx) error {
			var first error
			for _, m := range ms {
				if _, err := tx.MoveStock(ctx, m); err != nil && first == nil {
					first = err
				}
			}
			return first
		})
		if batch.err != single.err {
			t.Fatalf("trial %d %+v: MoveStocks error %q, one by one %q", trial, ms, batch.err, single.err)
		}
		if batch.err != "" {
			continue // the caller rolls back: what was applied is unspecified
		}
		if !slices.Equal(batch.bins, single.bins) || !slices.Equal(batch.ledger, single.ledger) {
			t.Fatalf("trial %d %+v:\nMoveStocks  %v\n%v\none by one  %v\n%v", trial, ms,
				batch.bins, batch.ledger, single.bins, single.ledger)
		}
	}
}

// randomMoves returns start stock (receipt, reservation per SKU and bin;
// a zero receipt leaves the row missing) and a list of movements.
func randomMoves(rng *rand.Rand) ([][2]int64, []fulfill.StockMovement) {
	seed := make([][2]int64, 4)
	for i := range seed {
		if rng.IntN(5) > 0 {
			oh := rng.Int64N(6)
			seed[i] = [2]int64{oh, rng.Int64N(oh + 1)}
		}
	}
	kinds := []fulfill.MovementKind{fulfill.MoveReceipt, fulfill.MoveReservation, fulfill.MoveRelease, fulfill.MovePick, fulfill.MoveAdjustment}
	// Half the lists use one kind only (one way per bin, the set-wise path).
	only := fulfill.MovementKind("")
	if rng.IntN(2) == 0 {
		only = kinds[rng.IntN(len(kinds))]
	}
	ms := make([]fulfill.StockMovement, 1+rng.IntN(10))
	for i := range ms {
		k := only
		if k == "" {
			k = kinds[rng.IntN(len(kinds))]
		}
		q := 1 + rng.Int64N(3)
		m := fulfill.StockMovement{SKU: fmt.Sprintf("P%d", 1+rng.IntN(2)), Warehouse: "W1",
			Bin: fmt.Sprintf("B%d", 1+rng.IntN(2)), Kind: k, Cause: fmt.Sprint("c", i), Actor: "test", At: t0}
		switch rng.IntN(30) {
		case 0:
			m.SKU = "P9"
		case 1:
			m.Bin = "B9"
		case 2:
			m.Warehouse = "W9"
		}
		switch k {
		case fulfill.MoveReceipt:
			m.OnHandDelta = q
		case fulfill.MoveReservation:
			m.ReservedDelta = q
		case fulfill.MoveRelease:
			m.ReservedDelta = -q
		case fulfill.MovePick:
			m.OnHandDelta, m.ReservedDelta = -q, -q
		case fulfill.MoveAdjustment:
			m.OnHandDelta = q * int64(1-2*rng.IntN(2))
		}
		ms[i] = m
	}
	return seed, ms
}

// runMoves seeds the stock, runs fn and reads the outcome in one
// transaction, then rolls it back.
func runMoves(t *testing.T, s *postgres.Store, seed [][2]int64, fn func(context.Context, fulfill.Tx) error) moveOutcome {
	t.Helper()
	var out moveOutcome
	err := s.Update(t.Context(), func(tx fulfill.Tx) error {
		ctx := t.Context()
		for i, st := range seed {
			m := fulfill.StockMovement{SKU: fmt.Sprintf("P%d", 1+i/2), Warehouse: "W1", Bin: fmt.Sprintf("B%d", 1+i%2),
				Kind: fulfill.MoveReceipt, OnHandDelta: st[0], At: t0}
			if st[0] == 0 {
				continue
			}
			if _, err := tx.MoveStock(ctx, m); err != nil {
				return err
			}
			if st[1] > 0 {
				m.Kind, m.OnHandDelta, m.ReservedDelta = fulfill.MoveReservation, 0, st[1]
				if _, err := tx.MoveStock(ctx, m); err != nil {
					return err
				}
			}
		}
		if err := fn(ctx, tx); err != nil {
			out.err = err.Error()
			return errRollback
		}
		bs, err := tx.BinStocks(ctx, fulfill.StockFilter{})
		if err != nil {
			return err
		}
		for _, b := range bs {
			out.bins = append(out.bins, fmt.Sprintf("%s/%s/%s %d %d", b.SKU, b.Warehouse, b.Bin, b.OnHand, b.Reserved))
		}
		es, err := tx.Ledger(ctx, fulfill.LedgerFilter{Limit: 1000})
		if err != nil {
			return err
		}
		for _, e := range es {
			out.ledger = append(out.ledger, fmt.Sprintf("%s/%s/%s %s %+d %+d → %d %d %s %s %s", e.SKU, e.Warehouse, e.Bin,
				e.Kind, e.OnHandDelta, e.ReservedDelta, e.OnHandAfter, e.ReservedAfter, e.Cause, e.Actor, e.At))
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	return out
}
