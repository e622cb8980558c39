package app_test

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

var (
	bengaluru = fulfill.GeoPoint{Lat: 12.9716, Lon: 77.5946}
	mysuru    = fulfill.GeoPoint{Lat: 12.2958, Lon: 76.6394}
	mumbai    = fulfill.GeoPoint{Lat: 19.0760, Lon: 72.8777}
	delhi     = fulfill.GeoPoint{Lat: 28.7041, Lon: 77.1025}
)

// raceCase is one variant of the race for the last units.
type raceCase struct {
	name   string
	policy fulfill.OutOfStockPolicy
	// stock per warehouse: code → (location, units, split over bins)
	warehouses []raceWarehouse
	lines      []fulfill.AllocLine
	// inbox delivers the events through the webhook inbox while the
	// payment stage runs, in batches of at most batch events (0: 37).
	inbox bool
	batch int
}

type raceWarehouse struct {
	code  string
	at    fulfill.GeoPoint
	units []int64 // per bin
}

// TestRaceForLastUnits: 300 shoppers pay for the last 100 units at once.
// Exactly 100 get stock, the 100 earliest confirmations; the other 200
// follow the policy; the ledger stays consistent and nothing is negative.
func TestRaceForLastUnits(t *testing.T) {
	t.Parallel()
	one := []raceWarehouse{{"BLR", bengaluru, []int64{60, 40}}}
	cases := []raceCase{
		{name: "void", policy: fulfill.PolicyVoid, warehouses: one, lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}}},
		{name: "refund", policy: fulfill.PolicyRefund, warehouses: one, lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}}},
		{name: "backorder", policy: fulfill.PolicyBackorder, warehouses: one, lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}}},
		{name: "bundle", policy: fulfill.PolicyVoid, lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}, {SKU: "HOT-1", Quantity: 1}},
			warehouses: []raceWarehouse{{"BLR", bengaluru, []int64{120, 80}}}},
		{name: "multi-warehouse", policy: fulfill.PolicyRefund, lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}},
			warehouses: []raceWarehouse{{"BLR", bengaluru, []int64{30, 10}}, {"BOM", mumbai, []int64{35}}, {"DEL", delhi, []int64{5, 20}}}},
		{name: "through-the-inbox", policy: fulfill.PolicyBackorder, warehouses: one, inbox: true, batch: 5,
			lines: []fulfill.AllocLine{{SKU: "HOT-1", Quantity: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eachEngine(t, func(t *testing.T, open opener) { runRace(t, open(t), c) })
		})
	}
}

func runRace(t *testing.T, st fulfill.Store, c raceCase) {
	capture := fulfill.CaptureAutomatic
	if c.policy == fulfill.PolicyVoid {
		capture = fulfill.CaptureManual
	}
	batch := c.batch
	if batch == 0 {
		batch = 37
	}
	f := newFixture(t, st, app.Options{DefaultPolicy: c.policy, PaymentBatch: batch})
	f.product("HOT-1", "")
	for _, w := range c.warehouses {
		f.warehouse(w.code, w.at, len(w.units))
		for i, n := range w.units {
			f.receive("HOT-1", w.code, i+1, n)
		}
	}
	orders := f.orders(300, orderSpec{lines: c.lines, capture: capture, addr: fulfill.Address{Lat: mysuru.Lat, Lon: mysuru.Lon}})
	// Confirmation times in a random order, distinct, so the winners are
	// known: the 100 earliest.
	perm := rand.New(rand.NewPCG(1, uint64(len(c.name)))).Perm(len(orders))
	evs := make([]*fulfill.WebhookEvent, len(orders))
	at := map[string]time.Time{}
	for i, o := range orders {
		at[o.ID] = f.now.Add(time.Duration(perm[i]) * time.Millisecond)
		evs[i] = event(o, fulfill.PaymentSucceeded, at[o.ID])
	}
	if c.inbox {
		deliverWhileProcessing(t, f, evs)
	} else {
		f.insertEvents(evs)
		f.process(4)
	}

	byConfirm := append([]*fulfill.Order(nil), orders...)
	sort.Slice(byConfirm, func(i, j int) bool { return at[byConfirm[i].ID].Before(at[byConfirm[j].ID]) })
	winners := map[string]bool{}
	for _, o := range byConfirm[:100] {
		winners[o.ID] = true
	}
	counts := map[fulfill.OrderStatus]int{}
	for _, o := range orders {
		got := f.order(o.ID)
		counts[got.Status]++
		if winners[o.ID] != (got.Status == fulfill.StatusReserved) {
			t.Fatalf("order confirmed at +%v is %s (winner=%v)", at[o.ID].Sub(f.now), got.Status, winners[o.ID])
		}
		checkOutcome(t, c.policy, got)
	}
	if counts[fulfill.StatusReserved] != 100 {
		t.Fatalf("reserved %d orders, want exactly 100 (%v)", counts[fulfill.StatusReserved], counts)
	}
	checkStock(t, st, ids(orders))
	for _, l := range levels(t, f) {
		if l.Available != 0 {
			t.Fatalf("%+v: all units should be reserved", l)
		}
	}
	checkLosers(t, f, c.policy, orders, winners)
}

// deliverWhileProcessing sends the events through the webhook inbox while
// the payment stage runs, as in production (on SQLite the inbox is a file
// of its own, copied into the store by the payment stage). They go in
// order of confirmation, 50 at once
// (so the 100 winners are the first two groups, whatever the order within
// a group).
func deliverWhileProcessing(t *testing.T, f *fixture, evs []*fulfill.WebhookEvent) {
	t.Helper()
	sorted := slices.Clone(evs)
	slices.SortFunc(sorted, func(a, b *fulfill.WebhookEvent) int { return a.OccurredAt.Compare(b.OccurredAt) })
	done := make(chan error, 1)
	go func() { done <- f.deliver(sorted, 50) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			f.process(2)
			return
		default:
			f.process(1)
		}
	}
}

// checkOutcome checks one order against the policy.
func checkOutcome(t *testing.T, pol fulfill.OutOfStockPolicy, o *fulfill.Order) {
	t.Helper()
	last := o.Timeline[len(o.Timeline)-1]
	switch o.Status {
	case fulfill.StatusReserved:
		var n int64
		for _, a := range o.Allocations {
			n += a.Quantity
		}
		if n == 0 || last.Cause != "stock reserved" || o.Payment.ConfirmedAt == nil {
			t.Fatalf("reserved order %+v", o)
		}
	case fulfill.StatusCancelled:
		if pol == fulfill.PolicyBackorder || last.Cause != app.CauseOutOfStock {
			t.Fatalf("cancelled order under %s, cause %q", pol, last.Cause)
		}
	case fulfill.StatusBackordered:
		if pol != fulfill.PolicyBackorder {
			t.Fatalf("backordered under %s", pol)
		}
	default:
		t.Fatalf("order ended %s", o.Status)
	}
}

// checkLosers checks the losers' jobs and notifications and, per policy,
// finishes their story: refunds end refunded, backorders are served first
// come first served when stock arrives.
func checkLosers(t *testing.T, f *fixture, pol fulfill.OutOfStockPolicy, orders []*fulfill.Order, winners map[string]bool) {
	t.Helper()
	switch pol {
	case fulfill.PolicyVoid:
		if n := f.actionOrders(app.ActionVoid); n != 200 {
			t.Fatalf("%d voids queued, want 200", n)
		}
		if n := f.actionOrders(app.ActionCapture); n != 100 {
			t.Fatalf("%d captures queued, want 100 (manual capture after reservation)", n)
		}
		for _, j := range f.actionJobs(app.ActionVoid) {
			if err := f.a.PaymentActions(f.ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.gw.count("void "); n != 200 {
			t.Fatalf("%d gateway voids, want 200", n)
		}
	case fulfill.PolicyRefund:
		if n := f.actionOrders(app.ActionRefund); n != 200 {
			t.Fatalf("%d refunds queued, want 200", n)
		}
		for _, j := range f.actionJobs(app.ActionRefund) {
			if err := f.a.PaymentActions(f.ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		for _, o := range orders {
			if winners[o.ID] {
				continue
			}
			got := f.order(o.ID)
			if got.Status != fulfill.StatusRefunded || got.Timeline[len(got.Timeline)-1].Cause != "refunded: out_of_stock" {
				t.Fatalf("after refund: %s %+v", got.Status, got.Timeline)
			}
			expectNote(t, f, o.ID, app.EventOrderRefunded)
		}
		if n := f.gw.count("refund "); n != 200 {
			t.Fatalf("%d gateway refunds, want 200", n)
		}
	}
	for _, o := range orders {
		if winners[o.ID] {
			expectNote(t, f, o.ID, app.EventOrderReserved)
		} else if pol == fulfill.PolicyBackorder {
			expectNote(t, f, o.ID, app.EventOrderBackordered)
		} else {
			expectNote(t, f, o.ID, app.EventOrderOutOfStock)
		}
	}
}

func expectNote(t *testing.T, f *fixture, orderID, event string) {
	t.Helper()
	var notes []fulfill.Notification
	err := f.st.View(f.ctx, func(tx fulfill.Tx) (err error) {
		notes, err = tx.Notifications(f.ctx, orderID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		if string(n.Event) == event && n.DedupeKey == orderID+":"+event {
			return
		}
	}
	t.Fatalf("order %s has no %s notification: %+v", orderID, event, notes)
}

func levels(t testing.TB, f *fixture) []fulfill.StockLevel {
	t.Helper()
	ls, err := f.a.StockLevels(f.ctx, fulfill.StockFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestBackordersServedInOrder: backordered orders get received stock first
// come first served: a receipt serves them in its own transaction (so no
// payment can take the units in between), and units freed by a
// cancellation go to them through the serve_backorders job the release
// queues.
func TestBackordersServedInOrder(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		st := open(t)
		f := newFixture(t, st, app.Options{})
		f.product("BO-1", fulfill.PolicyBackorder)
		f.warehouse("BLR", bengaluru, 1)
		f.receive("BO-1", "BLR", 1, 2)
		orders := f.orders(7, orderSpec{lines: []fulfill.AllocLine{{SKU: "BO-1", Quantity: 1}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}})
		evs := paidEvents(f, orders)
		f.insertEvents(evs[:6])
		f.process(1)
		wantStatuses := func(when string, reserved int, upTo int) {
			t.Helper()
			for i, o := range orders[:upTo] {
				want := fulfill.StatusBackordered
				if i < reserved {
					want = fulfill.StatusReserved
				}
				if got := f.order(o.ID).Status; got != want {
					t.Fatalf("%s: order %d is %s, want %s", when, i, got, want)
				}
			}
		}
		wantStatuses("after payment", 2, 6)

		// The receipt and a newer payment: the backorders come first.
		if _, err := f.a.ReceiveStock(f.ctx, "test", app.Receipt{SKU: "BO-1", Warehouse: "BLR", Bin: "A-1-A-1", Quantity: 3}); err != nil {
			t.Fatal(err)
		}
		f.insertEvents(evs[6:])
		f.process(1)
		wantStatuses("after the receipt", 5, 7)
		if n := f.jobs("serve_backorders"); n != 0 {
			t.Fatalf("%d serve_backorders jobs after a receipt served every backorder, want 0", n)
		}
		for i, o := range orders[2:5] {
			got := f.order(o.ID)
			if c := got.Timeline[len(got.Timeline)-1].Cause; c != "stock received" {
				t.Fatalf("order %d: cause %q, want stock received", i+2, c)
			}
		}

		// A cancellation frees a unit: the oldest backorder gets it.
		if _, err := f.a.CancelOrder(f.ctx, "test", orders[0].ID, app.CancelInput{Reason: "changed mind"}); err != nil {
			t.Fatal(err)
		}
		if n := f.jobs("serve_backorders"); n != 1 {
			t.Fatalf("%d serve_backorders jobs after a release, want 1", n)
		}
		if err := f.a.ServeBackorders(f.ctx, app.ServeBackordersArgs{}); err != nil {
			t.Fatal(err)
		}
		if got := f.order(orders[5].ID).Status; got != fulfill.StatusReserved {
			t.Fatalf("oldest backorder after a release: %s, want reserved", got)
		}
		if got := f.order(orders[6].ID).Status; got != fulfill.StatusBackordered {
			t.Fatalf("newest backorder after a release: %s, want backordered", got)
		}
		checkStock(t, st, ids(orders))
	})
}

// TestNearestWarehouseAndSplit: a shopper in Mysuru is served from the
// Bengaluru warehouse, not Mumbai; a two-line order that no single
// warehouse can serve is split in two, and the order shows both
// allocations.
func TestNearestWarehouseAndSplit(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		st := open(t)
		f := newFixture(t, st, app.Options{PostalPrefixes: map[string]fulfill.GeoPoint{"570": mysuru, "5700": mysuru}})
		f.product("WHEY-2KG-CHOC", "")
		f.product("SHAKER", "")
		f.warehouse("BLR", bengaluru, 2)
		f.warehouse("BOM", mumbai, 1)
		f.warehouse("DEL", delhi, 1)
		f.receive("WHEY-2KG-CHOC", "BLR", 1, 1)
		f.receive("WHEY-2KG-CHOC", "BLR", 2, 5)
		f.receive("WHEY-2KG-CHOC", "BOM", 1, 5)
		f.receive("SHAKER", "DEL", 1, 5) // only Delhi has shakers

		// Located by postal code only (no coordinates).
		near := f.orders(1, orderSpec{lines: []fulfill.AllocLine{{SKU: "WHEY-2KG-CHOC", Quantity: 2}},
			addr: fulfill.Address{City: "Mysuru", PostalCode: "570 001", Country: "IN"}})[0]
		split := f.orders(1, orderSpec{lines: []fulfill.AllocLine{{SKU: "WHEY-2KG-CHOC", Quantity: 1}, {SKU: "SHAKER", Quantity: 1}},
			addr: fulfill.Address{City: "Bengaluru", Lat: bengaluru.Lat, Lon: bengaluru.Lon}})[0]
		f.insertEvents([]*fulfill.WebhookEvent{event(near, fulfill.PaymentSucceeded, f.now),
			event(split, fulfill.PaymentSucceeded, f.now.Add(time.Second))})
		f.process(1)

		got := f.order(near.ID)
		want := []fulfill.Allocation{{Warehouse: "BLR", SKU: "WHEY-2KG-CHOC", Quantity: 2}}
		if got.Status != fulfill.StatusReserved || !sameAllocs(got.Allocations, want) {
			t.Fatalf("Mysuru order: %s %+v", got.Status, got.Allocations)
		}
		// Two bins in pick order: one unit from A-1-A-1, one from A-1-A-2.
		var rs []fulfill.Reservation
		_ = st.View(f.ctx, func(tx fulfill.Tx) (err error) { rs, err = tx.Reservations(f.ctx, near.ID); return err })
		if len(rs) != 2 || rs[0].Quantity+rs[1].Quantity != 2 {
			t.Fatalf("reservations %+v", rs)
		}
		got = f.order(split.ID)
		want = []fulfill.Allocation{{Warehouse: "DEL", SKU: "SHAKER", Quantity: 1}, {Warehouse: "BLR", SKU: "WHEY-2KG-CHOC", Quantity: 1}}
		if got.Status != fulfill.StatusReserved || !sameAllocs(got.Allocations, want) {
			t.Fatalf("split order: %s %+v", got.Status, got.Allocations)
		}
		checkStock(t, st, []string{near.ID, split.ID})
	})
}

func sameAllocs(a, b []fulfill.Allocation) bool {
	key := func(x fulfill.Allocation) string { return x.Warehouse + "/" + x.SKU }
	a, b = append([]fulfill.Allocation(nil), a...), append([]fulfill.Allocation(nil), b...)
	sort.Slice(a, func(i, j int) bool { return key(a[i]) < key(a[j]) })
	sort.Slice(b, func(i, j int) bool { return key(b[i]) < key(b[j]) })
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPaymentEvents covers the payment stage's handling of duplicates,
// reordering, mismatches and unknown orders.
func TestPaymentEvents(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		st := open(t)
		f := newFixture(t, st, app.Options{})
		f.stockP1()
		os := f.orders(6, orderSpec{lines: []fulfill.AllocLine{{SKU: "P-1", Quantity: 1}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}})
		paid, failedLate, mismatch, declined, refunded, stale := os[0], os[1], os[2], os[3], os[4], os[5]
		// A failure stamped before the success but delivered with it (a
		// reordered redelivery) must not show the shopper "declined".
		staleFail := event(stale, fulfill.PaymentFailed, f.now.Add(-time.Second))

		bad := event(mismatch, fulfill.PaymentSucceeded, f.now)
		bad.Amount.Amount--
		unknown := event(paid, fulfill.PaymentSucceeded, f.now)
		unknown.OrderID, unknown.IntentID = "ord_nope", "pi_nope"
		other := event(paid, fulfill.PaymentEventOther, f.now)
		dup := event(paid, fulfill.PaymentSucceeded, f.now.Add(time.Second))
		evs := []*fulfill.WebhookEvent{
			event(paid, fulfill.PaymentSucceeded, f.now), dup, other, unknown,
			event(failedLate, fulfill.PaymentSucceeded, f.now), event(failedLate, fulfill.PaymentFailed, f.now.Add(time.Second)),
			bad,
			event(declined, fulfill.PaymentFailed, f.now),
			event(refunded, fulfill.PaymentSucceeded, f.now), event(refunded, fulfill.PaymentRefunded, f.now.Add(time.Second)),
			event(stale, fulfill.PaymentSucceeded, f.now), staleFail,
		}
		evs[0].IntentID = "" // found by order id alone
		f.insertEvents(evs)
		f.process(2)

		want := map[string]fulfill.OrderStatus{paid.ID: fulfill.StatusReserved, failedLate.ID: fulfill.StatusReserved,
			mismatch.ID: fulfill.StatusException, declined.ID: fulfill.StatusPaymentFailed, refunded.ID: fulfill.StatusRefunded,
			stale.ID: fulfill.StatusReserved}
		for id, w := range want {
			if got := f.order(id); got.Status != w {
				t.Fatalf("order %s: %s, want %s (%+v)", id, got.Status, w, got.Timeline)
			}
		}
		if c := f.order(mismatch.ID).Timeline[1].Cause; !strings.Contains(c, "mismatch") {
			t.Fatalf("exception cause %q", c)
		}
		status := map[string]fulfill.WebhookStatus{}
		for _, e := range evs {
			got, err := f.a.GetWebhookEvent(f.ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			status[e.ID] = got.Status
		}
		for _, tl := range f.order(stale.ID).Timeline {
			if tl.To == fulfill.StatusPaymentFailed {
				t.Fatalf("stale failure reached the timeline: %+v", f.order(stale.ID).Timeline)
			}
		}
		for _, e := range []*fulfill.WebhookEvent{dup, other, unknown, evs[5], staleFail} {
			if status[e.ID] != fulfill.WebhookIgnored {
				t.Fatalf("event %s %s: %s, want ignored", e.Type, e.OrderID, status[e.ID])
			}
		}
		if status[bad.ID] != fulfill.WebhookProcessed || status[evs[0].ID] != fulfill.WebhookProcessed {
			t.Fatalf("statuses %v", status)
		}
		// The refund released the stock: only three orders hold units.
		if l := levels(t, f); len(l) != 1 || l[0].Reserved != 3 || l[0].Available != 7 {
			t.Fatalf("levels %+v", l)
		}
		checkStock(t, st, ids(os))
	})
}

// TestPaymentAuthorized: an authorization (from a gateway that sends one
// in both capture modes) pays a manual-capture order, whose capture is
// then queued; for an automatic one it is ignored and the capture event
// that follows pays the order.
func TestPaymentAuthorized(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		f := newFixture(t, open(t), app.Options{})
		f.stockP1()
		addr := fulfill.Address{Lat: 12.9, Lon: 77.6}
		manual := f.orders(1, orderSpec{lines: []fulfill.AllocLine{{SKU: "P-1", Quantity: 1}}, addr: addr, capture: fulfill.CaptureManual})[0]
		auto := f.orders(1, orderSpec{lines: []fulfill.AllocLine{{SKU: "P-1", Quantity: 1}}, addr: addr})[0]
		authManual, authAuto := event(manual, fulfill.PaymentAuthorized, f.now), event(auto, fulfill.PaymentAuthorized, f.now)
		f.insertEvents([]*fulfill.WebhookEvent{authManual, authAuto})
		f.process(1)
		if got := f.order(manual.ID).Status; got != fulfill.StatusReserved {
			t.Errorf("manual-capture order after its authorization: %s, want reserved", got)
		}
		if got := f.order(auto.ID).Status; got != fulfill.StatusPendingPayment {
			t.Errorf("automatic-capture order after its authorization: %s, want pending_payment", got)
		}
		if ev, err := f.a.GetWebhookEvent(f.ctx, authAuto.ID); err != nil || ev.Status != fulfill.WebhookIgnored {
			t.Errorf("the automatic order's authorization: %+v %v, want ignored", ev, err)
		}
		if n := f.actionOrders(app.ActionCapture); n != 1 {
			t.Errorf("%d orders queued for capture, want 1 (the manual one)", n)
		}
		f.insertEvents([]*fulfill.WebhookEvent{event(auto, fulfill.PaymentSucceeded, f.now.Add(time.Second))})
		f.process(1)
		if got := f.order(auto.ID).Status; got != fulfill.StatusReserved {
			t.Errorf("automatic-capture order after its capture: %s, want reserved", got)
		}
	})
}

// TestPaymentApproved: an approval (PayPal's) leaves the order unpaid and
// queues the job that completes the payment at the gateway; for an order
// already paid it changes nothing.
func TestPaymentApproved(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		f := newFixture(t, open(t), app.Options{})
		f.stockP1()
		os := f.orders(2, orderSpec{lines: []fulfill.AllocLine{{SKU: "P-1", Quantity: 1}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}})
		waiting, paid := os[0], os[1]
		f.insertEvents([]*fulfill.WebhookEvent{event(paid, fulfill.PaymentSucceeded, f.now)})
		f.process(1)
		approvals := []*fulfill.WebhookEvent{event(waiting, fulfill.PaymentApproved, f.now), event(paid, fulfill.PaymentApproved, f.now)}
		f.insertEvents(approvals)
		f.process(1)
		if got := f.order(waiting.ID).Status; got != fulfill.StatusPendingPayment {
			t.Errorf("approved order: %s, want pending_payment until the completion's event", got)
		}
		if n := f.jobs(app.CompletePaymentArgs{}.Kind()); n != 1 {
			t.Errorf("%d complete_payment jobs, want 1", n)
		}
		for i, want := range []fulfill.WebhookStatus{fulfill.WebhookProcessed, fulfill.WebhookIgnored} {
			if ev, err := f.a.GetWebhookEvent(f.ctx, approvals[i].ID); err != nil || ev.Status != want {
				t.Errorf("approval %d: %+v %v, want %s", i, ev, err, want)
			}
		}
	})
}

// TestHoldsAtCheckout: a live hold becomes the reservation without
// touching stock again; an expired one is released by release_holds and
// its order races normally; a cancel releases everything.
func TestHoldsAtCheckout(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		st := open(t)
		clock := &testClock{t: time.Now().UTC()}
		f := newFixture(t, st, app.Options{HoldAtCheckout: true, HoldTTL: time.Minute, Clock: clock})
		f.product("H-1", "")
		f.warehouse("BLR", bengaluru, 1)
		f.receive("H-1", "BLR", 1, 3)
		spec := orderSpec{lines: []fulfill.AllocLine{{SKU: "H-1", Quantity: 2}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}}
		held, late := f.newOrder(spec), f.newOrder(spec)
		for _, o := range []*fulfill.Order{held, late} {
			f.update(func(tx fulfill.Tx) error {
				if err := tx.CreateOrder(f.ctx, o); err != nil {
					return err
				}
				return f.a.HoldStock(f.ctx, tx, o)
			})
		}
		// Only the first could hold 2 of 3 units.
		if l := levels(t, f); l[0].Reserved != 2 {
			t.Fatalf("after holds %+v", l)
		}
		ledgerBefore := ledgerLen(t, f)
		f.insertEvents([]*fulfill.WebhookEvent{event(held, fulfill.PaymentSucceeded, clock.Now())})
		f.process(1)
		got := f.order(held.ID)
		if got.Status != fulfill.StatusReserved || !strings.Contains(got.Timeline[len(got.Timeline)-1].Cause, "hold") ||
			len(got.Allocations) != 1 || got.Allocations[0].Quantity != 2 {
			t.Fatalf("held order %s %+v", got.Status, got.Allocations)
		}
		if n := ledgerLen(t, f); n != ledgerBefore {
			t.Fatalf("converting a hold wrote %d ledger rows", n-ledgerBefore)
		}
		// Cancel releases the reservation.
		if _, err := f.a.CancelOrder(f.ctx, "test", held.ID, app.CancelInput{}); err != nil {
			t.Fatal(err)
		}
		// A hold that expires: placed, then time passes.
		third := f.newOrder(spec)
		f.update(func(tx fulfill.Tx) error {
			if err := tx.CreateOrder(f.ctx, third); err != nil {
				return err
			}
			return f.a.HoldStock(f.ctx, tx, third)
		})
		if l := levels(t, f); l[0].Reserved != 2 {
			t.Fatalf("third hold %+v", l)
		}
		clock.Add(2 * time.Minute)
		if err := f.a.ReleaseHolds(f.ctx, app.ReleaseHoldsArgs{}); err != nil {
			t.Fatal(err)
		}
		if l := levels(t, f); l[0].Reserved != 0 {
			t.Fatalf("after release_holds %+v", l)
		}
		f.insertEvents([]*fulfill.WebhookEvent{event(late, fulfill.PaymentSucceeded, clock.Now())})
		f.process(1)
		if got := f.order(late.ID); got.Status != fulfill.StatusReserved || got.Timeline[len(got.Timeline)-1].Cause != "stock reserved" {
			t.Fatalf("late order %s %+v", got.Status, got.Timeline)
		}
		checkStock(t, st, []string{held.ID, late.ID, third.ID})
	})
}

func ledgerLen(t *testing.T, f *fixture) int {
	t.Helper()
	var n int
	err := f.st.View(f.ctx, func(tx fulfill.Tx) error {
		rows, err := allLedger(f.ctx, tx)
		n = len(rows)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLowStock raises stock.low once per crossing down and clears it on
// the way up.
func TestLowStock(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		st := open(t)
		f := newFixture(t, st, app.Options{})
		f.product("L-1", "")
		f.warehouse("BLR", bengaluru, 1)
		f.receive("L-1", "BLR", 1, 5)
		th, err := f.a.SetStockThreshold(f.ctx, "test", "L-1", "BLR", 2)
		if err != nil || th.Low || th.Threshold != 2 {
			t.Fatalf("threshold %+v %v", th, err)
		}
		adjust := func(d int64) {
			t.Helper()
			if _, err := f.a.AdjustStock(f.ctx, "test", app.Adjustment{SKU: "L-1", Warehouse: "BLR", Bin: "A-1-A-1",
				QuantityDelta: d, Reason: "count"}); err != nil {
				t.Fatal(err)
			}
		}
		orders := f.orders(2, orderSpec{lines: []fulfill.AllocLine{{SKU: "L-1", Quantity: 2}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}})
		f.insertEvents([]*fulfill.WebhookEvent{event(orders[0], fulfill.PaymentSucceeded, f.now)})
		f.process(1) // available 5 → 3: above
		if n := lowAlerts(t, f); n != 0 {
			t.Fatalf("%d alerts above the threshold", n)
		}
		f.insertEvents([]*fulfill.WebhookEvent{event(orders[1], fulfill.PaymentSucceeded, f.now)})
		f.process(1) // 3 → 1: crossing down
		adjust(-1)   // 1 → 0: still low, no second alert
		if n := lowAlerts(t, f); n != 1 {
			t.Fatalf("%d alerts after one crossing", n)
		}
		adjust(+5) // up: cleared
		ths, _ := f.a.StockThresholds(f.ctx, "L-1")
		if len(ths) != 1 || ths[0].Low {
			t.Fatalf("thresholds after restock %+v", ths)
		}
		adjust(-4) // 5 → 1: second crossing
		if n := lowAlerts(t, f); n != 2 {
			t.Fatalf("%d alerts after two crossings", n)
		}
		checkStock(t, st, ids(orders))
	})
}

func lowAlerts(t *testing.T, f *fixture) int {
	t.Helper()
	var n int
	err := f.st.View(f.ctx, func(tx fulfill.Tx) error {
		notes, err := tx.Notifications(f.ctx, "")
		for _, x := range notes {
			if x.Event == app.EventStockLow {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInactiveBinsNotReserved: stock in a bin taken out of use stays on
// hand but is not reserved; the active bin's units go first come first
// served and the rest follow the policy.
func TestInactiveBinsNotReserved(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		st := open(t)
		f := newFixture(t, st, app.Options{DefaultPolicy: fulfill.PolicyBackorder})
		f.product("OFF-1", "")
		f.warehouse("BLR", bengaluru, 2)
		f.receive("OFF-1", "BLR", 1, 5)
		f.receive("OFF-1", "BLR", 2, 1)
		f.update(func(tx fulfill.Tx) error {
			b, err := tx.GetBin(f.ctx, "BLR", "A-1-A-1")
			if err != nil {
				return err
			}
			b.Active = false
			return tx.UpdateBin(f.ctx, b)
		})
		orders := f.orders(3, orderSpec{lines: []fulfill.AllocLine{{SKU: "OFF-1", Quantity: 1}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}})
		evs := paidEvents(f, orders)
		f.insertEvents(evs)
		f.process(1)
		for i, o := range orders {
			want := fulfill.StatusBackordered
			if i == 0 {
				want = fulfill.StatusReserved
			}
			if got := f.order(o.ID).Status; got != want {
				t.Fatalf("order %d: %s, want %s", i, got, want)
			}
		}
		var inactive []fulfill.BinStock
		err := st.View(f.ctx, func(tx fulfill.Tx) (err error) {
			inactive, err = tx.BinStocks(f.ctx, fulfill.StockFilter{SKU: "OFF-1"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range inactive {
			if b.Bin == "A-1-A-1" && (b.OnHand != 5 || b.Reserved != 0) {
				t.Fatalf("inactive bin %+v: want 5 on hand, none reserved", b)
			}
		}
		checkStock(t, st, ids(orders))
	})
}
