package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// benchProducts is how many products Bench seeds (and receives into).
const benchProducts = 1000

// Bench measures the store: stock receipts per second (each its own Update
// with one MoveStock; serial and with b.RunParallel) and catalog reads per
// second (GetProduct and a ListProducts page of 100, each in its own View).
func Bench(b *testing.B, h Harness) {
	s := h.Open(b, h.NewDB(b), queue.Config{Logger: quietLogger()})
	seedBench(b, s)
	b.Run("StockReceipt", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := benchReceipt(b, s, i); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "receipts/s")
	})
	b.Run("StockReceiptParallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := benchReceipt(b, s, int(n.Add(1))); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
			}
		})
		perSecond(b, "receipts/s")
	})
	b.Run("GetProduct", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := s.View(b.Context(), func(tx fulfill.Tx) error {
				_, err := tx.GetProduct(b.Context(), benchSKU(i))
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "reads/s")
	})
	b.Run("ListProducts100", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			after := benchSKU(i % (benchProducts - 100))
			if err := s.View(b.Context(), func(tx fulfill.Tx) error {
				ps, err := tx.ListProducts(b.Context(), fulfill.Page{After: after, Limit: 100}, nil)
				if err == nil && len(ps) != 100 {
					err = fmt.Errorf("page of %d", len(ps))
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "pages/s")
	})
}

func benchSKU(i int) string { return fmt.Sprintf("BENCH-%05d", i%benchProducts) }

func seedBench(b *testing.B, s fulfill.Store) {
	update(b, s, func(tx fulfill.Tx) error {
		if err := tx.CreateWarehouse(b.Context(), newWarehouse("W1")); err != nil {
			return err
		}
		if err := tx.CreateBin(b.Context(), newBin("W1", "A", "1", 1)); err != nil {
			return err
		}
		for i := range benchProducts {
			if err := tx.CreateProduct(b.Context(), newProduct(benchSKU(i))); err != nil {
				return err
			}
		}
		return nil
	})
}

func benchReceipt(b *testing.B, s fulfill.Store, i int) error {
	_, err := move(b, s, mv(benchSKU(i), "W1", bin1, fulfill.MoveReceipt, 1, 0))
	return err
}

func perSecond(b *testing.B, unit string) {
	if sec := b.Elapsed().Seconds(); sec > 0 {
		b.ReportMetric(float64(b.N)/sec, unit)
	}
}
