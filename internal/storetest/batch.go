package storetest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// batchTests check the batch methods the payment stage uses to load,
// save and write many rows per transaction: OrdersByIDs, SaveOrders,
// MarkWebhookEvents, AddReservations and AddNotifications.
var batchTests = map[string]func(*testing.T, Harness){
	"OrdersByIDs":            testOrdersByIDs,
	"SaveOrderLoaded":        testSaveOrder,
	"SaveOrderGuard":         testSaveOrderGuard,
	"SaveOrdersMany":         testSaveOrdersMany,
	"MarkWebhookEventsBatch": testMarkWebhookEvents,
	"AddReservationsBatch":   testAddReservations,
	"AddNotificationsBatch":  testAddNotifications,
}

// saveOne saves one loaded order through SaveOrders.
func saveOne(t testing.TB, tx fulfill.Tx, o *fulfill.Order, st fulfill.OrderStatus, n int, changed bool) error {
	return tx.SaveOrders(t.Context(), []fulfill.OrderSave{{Order: o, LoadedStatus: st, LoadedTimeline: n, AllocationsChanged: changed}})
}

// testSaveOrdersMany saves several orders in one call, then expects a
// failing guard among many to report EConflict.
func testSaveOrdersMany(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"), newOrder("ord_b"), newOrder("ord_c"))
	at := ts.Add(time.Minute)
	update(t, s, func(tx fulfill.Tx) error {
		os, err := tx.OrdersByIDs(t.Context(), []string{"ord_a", "ord_b", "ord_c"})
		if err != nil {
			return err
		}
		var saves []fulfill.OrderSave
		for i := range os {
			o := &os[i]
			saves = append(saves, fulfill.OrderSave{Order: o, LoadedStatus: o.Status, LoadedTimeline: len(o.Timeline)})
			if err := o.Transition(fulfill.StatusCancelled, "expired "+o.ID, at); err != nil {
				return err
			}
		}
		return tx.SaveOrders(t.Context(), saves)
	})
	for _, id := range []string{"ord_a", "ord_b", "ord_c"} {
		o := getOrder(t, s, id)
		if o.Status != fulfill.StatusCancelled || len(o.Timeline) != 2 || o.Timeline[1].Cause != "expired "+id {
			t.Fatalf("order %s = %s with timeline %+v, want cancelled with its own entry", id, o.Status, o.Timeline)
		}
	}
	// The same order twice in one call: the second save is guarded on the
	// status the first wrote, and the last allocations win.
	allocs := []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}, {Warehouse: "W2", SKU: "P2", Quantity: 1}}
	createOrders(t, s, paidOrder("ord_d", at))
	update(t, s, func(tx fulfill.Tx) error {
		first := getOrderTx(t, tx, "ord_d")
		s1 := fulfill.OrderSave{Order: first, LoadedStatus: first.Status, LoadedTimeline: len(first.Timeline), AllocationsChanged: true}
		first.Allocations = allocs
		if err := first.Transition(fulfill.StatusReserved, "stock reserved", at); err != nil {
			return err
		}
		second := *first
		second.Timeline = slices.Clone(first.Timeline)
		second.Allocations = allocs[1:]
		s2 := fulfill.OrderSave{Order: &second, LoadedStatus: first.Status, LoadedTimeline: len(first.Timeline), AllocationsChanged: true}
		if err := second.Transition(fulfill.StatusCancelled, "operator", at.Add(time.Hour)); err != nil {
			return err
		}
		return tx.SaveOrders(t.Context(), []fulfill.OrderSave{s1, s2})
	})
	d := getOrder(t, s, "ord_d")
	if d.Status != fulfill.StatusCancelled || len(d.Timeline) != 4 || !slices.Equal(d.Allocations, allocs[1:]) {
		t.Fatalf("ord_d = %s, timeline %+v, allocations %+v; want cancelled, 4 entries, the last allocations",
			d.Status, d.Timeline, d.Allocations)
	}

	err := updateErr(t, s, func(tx fulfill.Tx) error {
		a, b := getOrderTx(t, tx, "ord_a"), getOrderTx(t, tx, "ord_b")
		return tx.SaveOrders(t.Context(), []fulfill.OrderSave{
			{Order: a, LoadedStatus: a.Status, LoadedTimeline: len(a.Timeline)},
			{Order: b, LoadedStatus: fulfill.StatusPaid, LoadedTimeline: len(b.Timeline)},
		})
	})
	wantCode(t, err, fulfill.EConflict)
	update(t, s, func(tx fulfill.Tx) error { return tx.SaveOrders(t.Context(), nil) })
}

func testAddReservations(t *testing.T, h Harness) {
	s := open(t, h)
	seedOrders(t, s, "ord_a", "ord_b")
	f, hd := firm("ord_a", "P1", bin1, 2), hold("ord_a", "P2", bin2, 1, ts.Add(10*time.Minute))
	other := firm("ord_b", "P1", bin1, 1)
	update(t, s, func(tx fulfill.Tx) error {
		return tx.AddReservations(t.Context(), []fulfill.Reservation{f, hd, other})
	})
	sameReservations(t, reservations(t, s, "ord_a"), []fulfill.Reservation{f, hd}, false)
	sameReservations(t, reservations(t, s, "ord_b"), []fulfill.Reservation{other}, false)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.AddReservations(t.Context(), []fulfill.Reservation{firm("ord_b", "P2", bin1, 1), firm("ord_missing", "P1", bin1, 1)})
	}), fulfill.ENotFound)
	sameReservations(t, reservations(t, s, "ord_b"), []fulfill.Reservation{other}, false)
	bad := firm("ord_b", "P1", bin1, 0)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.AddReservations(t.Context(), []fulfill.Reservation{bad})
	}), fulfill.EInvalid)
	update(t, s, func(tx fulfill.Tx) error { return tx.AddReservations(t.Context(), nil) })
}

// testAddNotifications queues notifications in one call, skipping a
// repeated dedupe key (stored before, or earlier in the same call), and
// lists them in the order given.
func testAddNotifications(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx fulfill.Tx) error {
		_, err := tx.AddNotification(t.Context(), &fulfill.Notification{OrderID: "ord_a", Event: "order.paid",
			DedupeKey: "ord_a:order.paid", Payload: []byte(`{}`), CreatedAt: ts})
		return err
	})
	ns := []*fulfill.Notification{
		{OrderID: "ord_a", Event: "order.paid", DedupeKey: "ord_a:order.paid", CreatedAt: ts},
		{OrderID: "ord_a", Event: "order.reserved", DedupeKey: "ord_a:order.reserved", Payload: []byte(`{"n":1}`), CreatedAt: ts},
		{OrderID: "ord_a", Event: "order.reserved", DedupeKey: "ord_a:order.reserved", CreatedAt: ts},
		{OrderID: "ord_a", Event: "order.cancelled", DedupeKey: "ord_a:order.cancelled", Payload: []byte(`{}`), CreatedAt: ts},
	}
	update(t, s, func(tx fulfill.Tx) error { return tx.AddNotifications(t.Context(), ns) })
	if !strings.HasPrefix(ns[1].ID, "ntf_") || ns[1].Status != "pending" {
		t.Fatalf("defaults not filled: %+v", ns[1])
	}
	var got []fulfill.Notification
	view(t, s, func(tx fulfill.Tx) (err error) {
		got, err = tx.Notifications(t.Context(), "ord_a")
		return err
	})
	var events []string
	for _, n := range got {
		events = append(events, string(n.Event))
	}
	if want := []string{"order.paid", "order.reserved", "order.cancelled"}; !slices.Equal(events, want) {
		t.Fatalf("notifications = %v, want %v", events, want)
	}
	if string(got[1].Payload) != `{"n":1}` {
		t.Fatalf("payload = %s, want the first of the repeated key", got[1].Payload)
	}
	update(t, s, func(tx fulfill.Tx) error { return tx.AddNotifications(t.Context(), nil) })
}

func testOrdersByIDs(t *testing.T, h Harness) {
	s := open(t, h)
	a, b := newOrder("ord_a"), paidOrder("ord_b", ts.Add(time.Minute))
	b.Allocations = []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}}
	createOrders(t, s, a, b, newOrder("ord_c"))
	var got []fulfill.Order
	update(t, s, func(tx fulfill.Tx) (err error) {
		got, err = tx.OrdersByIDs(t.Context(), []string{"ord_b", "ord_missing", "ord_a"})
		return err
	})
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	if len(got) != 2 {
		t.Fatalf("OrdersByIDs returned %v, want ord_a and ord_b", orderIDs(got))
	}
	sameOrder(t, &got[0], getOrder(t, s, "ord_a"))
	sameOrder(t, &got[1], getOrder(t, s, "ord_b"))
	update(t, s, func(tx fulfill.Tx) error {
		none, err := tx.OrdersByIDs(t.Context(), nil)
		if err == nil && len(none) != 0 {
			err = fmt.Errorf("OrdersByIDs(nil) returned %d orders", len(none))
		}
		return err
	})
}

// testSaveOrder saves loaded orders twice in one transaction (the second
// save guarded on the status the first wrote) and reads back the whole
// order.
func testSaveOrder(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"), newOrder("ord_b"))
	at := ts.Add(time.Minute)
	allocs := []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}, {Warehouse: "W2", SKU: "P2", Quantity: 1}}
	update(t, s, func(tx fulfill.Tx) error {
		os, err := tx.OrdersByIDs(t.Context(), []string{"ord_a"})
		if err != nil || len(os) != 1 {
			return fmt.Errorf("load: %d orders, %w", len(os), err)
		}
		o := &os[0]
		st, n := o.Status, len(o.Timeline)
		o.Payment.ConfirmedAt, o.ExpiresAt = tp(at), nil
		if err := o.Transition(fulfill.StatusPaid, "payment.succeeded", at); err != nil {
			return err
		}
		if err := o.Transition(fulfill.StatusReserved, "stock reserved", at); err != nil {
			return err
		}
		o.Allocations = allocs
		if err := saveOne(t, tx, o, st, n, true); err != nil {
			return fmt.Errorf("first save: %w", err)
		}
		st, n = o.Status, len(o.Timeline)
		o.Allocations = allocs[1:]
		if err := o.Transition(fulfill.StatusCancelled, "operator", at.Add(time.Hour)); err != nil {
			return err
		}
		return saveOne(t, tx, o, st, n, true)
	})
	want := newOrder("ord_a")
	want.Payment.ConfirmedAt, want.ExpiresAt = tp(at), nil
	_ = want.Transition(fulfill.StatusPaid, "payment.succeeded", at)
	_ = want.Transition(fulfill.StatusReserved, "stock reserved", at)
	_ = want.Transition(fulfill.StatusCancelled, "operator", at.Add(time.Hour))
	want.Allocations = allocs[1:]
	got := getOrder(t, s, "ord_a")
	want.UpdatedAt = got.UpdatedAt
	sameOrder(t, got, want)
	sameOrder(t, getOrder(t, s, "ord_b"), newOrder("ord_b")) // untouched

	// Allocations not flagged as changed are left as stored.
	update(t, s, func(tx fulfill.Tx) error {
		o := getOrderTx(t, tx, "ord_a")
		o.Allocations = nil
		return saveOne(t, tx, o, o.Status, len(o.Timeline), false)
	})
	if got := getOrder(t, s, "ord_a"); len(got.Allocations) != 1 {
		t.Fatalf("allocations = %+v after a save without change, want 1", got.Allocations)
	}
}

// getOrderTx loads an order inside tx and fails the test when it can't.
func getOrderTx(t testing.TB, tx fulfill.Tx, id string) *fulfill.Order {
	t.Helper()
	o, err := tx.GetOrder(t.Context(), id)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", id, err)
	}
	return o
}

// testSaveOrderGuard expects EConflict when the stored status is no longer
// the loaded one, ENotFound for an order that does not exist, and nothing
// saved (the transaction rolls back).
func testSaveOrderGuard(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"))
	want := getOrder(t, s, "ord_a")
	err := updateErr(t, s, func(tx fulfill.Tx) error {
		o := getOrderTx(t, tx, "ord_a")
		if err := o.Transition(fulfill.StatusPaid, "payment.succeeded", ts.Add(time.Minute)); err != nil {
			return err
		}
		return saveOne(t, tx, o, fulfill.StatusPaymentFailed, len(o.Timeline)-1, false)
	})
	wantCode(t, err, fulfill.EConflict)
	sameOrder(t, getOrder(t, s, "ord_a"), want)

	err = updateErr(t, s, func(tx fulfill.Tx) error {
		o := newOrder("ord_missing")
		return saveOne(t, tx, o, o.Status, len(o.Timeline), false)
	})
	wantCode(t, err, fulfill.ENotFound)
}

func testMarkWebhookEvents(t *testing.T, h Harness) {
	s := open(t, h)
	for i := range 3 {
		insertEvent(t, s, newEvent(fmt.Sprintf("whk_%d", i), fmt.Sprintf("evt_%d", i), ts.Add(time.Duration(i)*time.Second)))
	}
	at := ts.Add(time.Hour)
	update(t, s, func(tx fulfill.Tx) error {
		return tx.MarkWebhookEvents(t.Context(), []string{"whk_0", "whk_2"}, fulfill.WebhookProcessed, at)
	})
	for _, id := range []string{"whk_0", "whk_2"} {
		e := getEvent(t, s, id)
		if e.Status != fulfill.WebhookProcessed || e.Attempts != 1 || e.Error != "" ||
			e.ProcessedAt == nil || !e.ProcessedAt.Equal(at) {
			t.Fatalf("event %s = %+v, want processed once at %v", id, e, at)
		}
	}
	if e := getEvent(t, s, "whk_1"); e.Status != fulfill.WebhookReceived || e.Attempts != 0 {
		t.Fatalf("unmarked event = %+v, want received", e)
	}
	err := updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.MarkWebhookEvents(t.Context(), []string{"whk_1", "whk_missing"}, fulfill.WebhookProcessed, at)
	})
	wantCode(t, err, fulfill.ENotFound)
	if e := getEvent(t, s, "whk_1"); e.Status != fulfill.WebhookReceived {
		t.Fatalf("event after a failed batch = %+v, want received (rolled back)", e)
	}
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.MarkWebhookEvents(t.Context(), []string{"whk_1"}, "bogus", at)
	}), fulfill.EInvalid)
}
