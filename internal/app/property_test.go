package app_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// TestStockConservationProperty interleaves random receipts, count
// corrections, checkouts with holds, payments, cancels, hold expiries,
// order expiries and backorder runs over many SKUs and warehouses. After
// every step, on hand = available + reserved for every bin and warehouse,
// nothing is negative, the ledger sums to the figures and the reservation
// rows sum to reserved.
func TestStockConservationProperty(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			eachEngine(t, func(t *testing.T, open opener) { runProperty(t, open(t), seed, 150) })
		})
	}
}

type propWorld struct {
	f      *fixture
	rng    *rand.Rand
	clock  *testClock
	skus   []string
	whs    []string
	orders []*fulfill.Order
}

func runProperty(t *testing.T, st fulfill.Store, seed uint64, steps int) {
	clock := &testClock{t: time.Now().UTC()}
	f := newFixture(t, st, app.Options{HoldAtCheckout: true, HoldTTL: time.Minute, Clock: clock, OrderTTL: 3 * time.Minute, PaymentBatch: 7})
	w := &propWorld{f: f, rng: rand.New(rand.NewPCG(seed, 99)), clock: clock}
	places := []fulfill.GeoPoint{bengaluru, mumbai, delhi, mysuru}
	for i, p := range places {
		code := fmt.Sprintf("W%d", i)
		f.warehouse(code, p, 2)
		w.whs = append(w.whs, code)
	}
	policies := []fulfill.OutOfStockPolicy{"", fulfill.PolicyBackorder, fulfill.PolicyVoid}
	for i := range 8 {
		sku := fmt.Sprintf("S-%d", i)
		f.product(sku, policies[i%len(policies)])
		w.skus = append(w.skus, sku)
	}
	actions := []func(){w.receive, w.receive, w.adjust, w.checkout, w.checkout, w.pay, w.pay, w.cancel, w.expire, w.serve}
	for step := range steps {
		actions[w.rng.IntN(len(actions))]()
		if t.Failed() {
			t.Fatalf("step %d failed", step)
		}
		checkStock(t, st, ids(w.orders))
	}
	counts := map[fulfill.OrderStatus]int{}
	for _, o := range w.orders {
		counts[f.order(o.ID).Status]++
	}
	if counts[fulfill.StatusReserved] == 0 {
		t.Fatalf("no order was ever reserved: %v", counts)
	}
	t.Logf("orders by status: %v", counts)
}

func (w *propWorld) sku() string { return w.skus[w.rng.IntN(len(w.skus))] }
func (w *propWorld) wh() string  { return w.whs[w.rng.IntN(len(w.whs))] }

func (w *propWorld) receive() {
	_, err := w.f.a.ReceiveStock(w.f.ctx, "test", app.Receipt{SKU: w.sku(), Warehouse: w.wh(),
		Bin: fmt.Sprintf("A-1-A-%d", 1+w.rng.IntN(2)), Quantity: int64(1 + w.rng.IntN(6))})
	if err != nil {
		w.f.tb.Fatal(err)
	}
}

func (w *propWorld) adjust() {
	_, err := w.f.a.AdjustStock(w.f.ctx, "test", app.Adjustment{SKU: w.sku(), Warehouse: w.wh(),
		Bin: fmt.Sprintf("A-1-A-%d", 1+w.rng.IntN(2)), QuantityDelta: int64(-3 + w.rng.IntN(5)), Reason: "count"})
	if err != nil && !fulfill.IsCode(err, fulfill.EInsufficient) && !fulfill.IsCode(err, fulfill.EInvalid) {
		w.f.tb.Fatal(err)
	}
}

func (w *propWorld) checkout() {
	spec := orderSpec{addr: fulfill.Address{Lat: 10 + w.rng.Float64()*20, Lon: 70 + w.rng.Float64()*10}}
	if w.rng.IntN(3) == 0 {
		spec.capture = fulfill.CaptureManual
	}
	for range 1 + w.rng.IntN(3) {
		spec.lines = append(spec.lines, fulfill.AllocLine{SKU: w.sku(), Quantity: int64(1 + w.rng.IntN(3))})
	}
	o := w.f.newOrder(spec)
	exp := w.clock.Now().Add(3 * time.Minute)
	o.ExpiresAt = &exp
	w.f.update(func(tx fulfill.Tx) error {
		if err := tx.CreateOrder(w.f.ctx, o); err != nil {
			return err
		}
		return w.f.a.HoldStock(w.f.ctx, tx, o)
	})
	w.orders = append(w.orders, o)
}

func (w *propWorld) pick() *fulfill.Order {
	if len(w.orders) == 0 {
		return nil
	}
	return w.orders[w.rng.IntN(len(w.orders))]
}

func (w *propWorld) pay() {
	var evs []*fulfill.WebhookEvent
	for range 1 + w.rng.IntN(4) {
		if o := w.pick(); o != nil {
			evs = append(evs, event(o, fulfill.PaymentSucceeded, w.clock.Now().Add(time.Duration(w.rng.IntN(1000))*time.Millisecond)))
		}
	}
	if len(evs) == 0 {
		return
	}
	w.f.insertEvents(evs)
	w.f.process(2)
}

func (w *propWorld) cancel() {
	if o := w.pick(); o != nil {
		_, err := w.f.a.CancelOrder(w.f.ctx, "test", o.ID, app.CancelInput{})
		if err != nil && !fulfill.IsCode(err, fulfill.EConflict) {
			w.f.tb.Fatal(err)
		}
	}
}

func (w *propWorld) expire() {
	w.clock.Add(time.Duration(20+w.rng.IntN(60)) * time.Second)
	if err := w.f.a.ReleaseHolds(w.f.ctx, app.ReleaseHoldsArgs{}); err != nil {
		w.f.tb.Fatal(err)
	}
	if err := w.f.a.ExpireOrders(w.f.ctx, app.ExpireOrdersArgs{}); err != nil {
		w.f.tb.Fatal(err)
	}
}

func (w *propWorld) serve() {
	if err := w.f.a.ServeBackorders(w.f.ctx, app.ServeBackordersArgs{}); err != nil {
		w.f.tb.Fatal(err)
	}
}
