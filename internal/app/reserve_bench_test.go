package app_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// benchEngines runs fn on SQLite and, when configured, PostgreSQL.
func benchEngines(b *testing.B, fn func(b *testing.B, open opener)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, openSQLite) })
	b.Run("postgres", func(b *testing.B) {
		requirePostgres(b)
		fn(b, openPostgres)
	})
}

// BenchmarkHotSKU: 10,000 paid orders race for 1,000 units of one SKU.
// The orders and their received webhook events are written through the
// store before the timer starts, so the figure is the payment and
// reservation stage alone (two ProcessPayments jobs at once). It reports
// reservation decisions per second and fails on any oversell.
func BenchmarkHotSKU(b *testing.B) {
	benchEngines(b, func(b *testing.B, open opener) {
		const orders, units = 10_000, 1_000
		decisions := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st := open(b)
			f := newFixture(b, st, app.Options{})
			f.product("HOT-1", "")
			f.warehouse("BLR", bengaluru, 2)
			f.receive("HOT-1", "BLR", 1, units/2)
			f.receive("HOT-1", "BLR", 2, units/2)
			os := f.orders(orders, orderSpec{lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}}, addr: fulfill.Address{Lat: mysuru.Lat, Lon: mysuru.Lon}})
			f.insertEventsBatched(paidEvents(f, os))
			b.StartTimer()
			f.process(2)
			b.StopTimer()
			decisions += orders
			if l := levels(b, f); len(l) != 1 || l[0].Reserved != units || l[0].Available != 0 {
				b.Fatalf("levels %+v: want exactly %d reserved", l, units)
			}
			if n := countStatus(b, f, fulfill.StatusReserved); n != units {
				b.Fatalf("%d orders reserved, want %d", n, units)
			}
		}
		b.ReportMetric(float64(decisions)/b.Elapsed().Seconds(), "decisions/s")
	})
}

// BenchmarkSpread: 10,000 paid orders over 1,000 SKUs in four warehouses,
// with enough stock for all; reports reservations per second.
func BenchmarkSpread(b *testing.B) {
	benchEngines(b, func(b *testing.B, open opener) {
		const orders, skus = 10_000, 1_000
		reserved := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st := open(b)
			f := newFixture(b, st, app.Options{})
			whs := map[string]fulfill.GeoPoint{"BLR": bengaluru, "BOM": mumbai, "DEL": delhi, "MYS": mysuru}
			for code, p := range whs {
				f.warehouse(code, p, 1)
			}
			codes := []string{"BLR", "BOM", "DEL", "MYS"}
			f.update(func(tx fulfill.Tx) error {
				for s := range skus {
					sku := fmt.Sprintf("SKU-%04d", s)
					if err := tx.CreateProduct(f.ctx, &fulfill.Product{SKU: sku, Name: sku, Active: true,
						Price: fulfill.Money{Amount: 100, Currency: "INR"}, CreatedAt: f.now, UpdatedAt: f.now}); err != nil {
						return err
					}
					if _, err := tx.MoveStock(f.ctx, fulfill.StockMovement{SKU: sku, Warehouse: codes[s%4], Bin: "A-1-A-1",
						Kind: fulfill.MoveReceipt, OnHandDelta: 40, Cause: "bench", Actor: "test", At: f.now}); err != nil {
						return err
					}
				}
				return nil
			})
			rng := rand.New(rand.NewPCG(7, 7))
			var os []*fulfill.Order
			for start := 0; start < orders; start += 500 {
				batch := make([]*fulfill.Order, 0, 500)
				for range 500 {
					sku := fmt.Sprintf("SKU-%04d", rng.IntN(skus))
					batch = append(batch, f.newOrder(orderSpec{lines: []fulfill.AllocLine{{SKU: sku, Quantity: 1}},
						addr: fulfill.Address{Lat: 10 + rng.Float64()*18, Lon: 72 + rng.Float64()*8}}))
				}
				f.update(func(tx fulfill.Tx) error {
					for _, o := range batch {
						if err := tx.CreateOrder(f.ctx, o); err != nil {
							return err
						}
					}
					return nil
				})
				os = append(os, batch...)
			}
			f.insertEventsBatched(paidEvents(f, os))
			b.StartTimer()
			f.process(2)
			b.StopTimer()
			n := countStatus(b, f, fulfill.StatusReserved)
			if n != orders {
				b.Fatalf("%d of %d orders reserved", n, orders)
			}
			reserved += n
		}
		b.ReportMetric(float64(reserved)/b.Elapsed().Seconds(), "reservations/s")
	})
}

// countStatus counts orders in a status.
func countStatus(tb testing.TB, f *fixture, st fulfill.OrderStatus) int {
	tb.Helper()
	n, cursor := 0, ""
	for {
		os, next, err := f.a.ListOrders(f.ctx, app.OrderListParams{Status: string(st), Cursor: cursor, Limit: 1000})
		if err != nil {
			tb.Fatal(err)
		}
		n += len(os)
		if next == "" {
			return n
		}
		cursor = next
	}
}
