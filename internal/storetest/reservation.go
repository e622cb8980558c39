package storetest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

var reservationTests = map[string]func(*testing.T, Harness){
	"AddListDelete":   testReservationAddListDelete,
	"ConvertHolds":    testConvertHolds,
	"ExpiredHolds":    testExpiredHolds,
	"NotificationDup": testNotificationDedupe,
	"Thresholds":      testThresholds,
}

// seedOrders seeds stock (seedStock) and pending orders with the given ids.
func seedOrders(t testing.TB, s fulfill.Store, ids ...string) {
	t.Helper()
	seedStock(t, s)
	orders := make([]*fulfill.Order, len(ids))
	for i, id := range ids {
		orders[i] = newOrder(id)
	}
	createOrders(t, s, orders...)
}

func firm(order, sku, bin string, qty int64) fulfill.Reservation {
	return fulfill.Reservation{OrderID: order, SKU: sku, Warehouse: "W1", Bin: bin, Quantity: qty,
		Kind: fulfill.ReservationFirm, CreatedAt: ts}
}

func hold(order, sku, bin string, qty int64, exp time.Time) fulfill.Reservation {
	r := firm(order, sku, bin, qty)
	r.Kind, r.ExpiresAt = fulfill.ReservationHold, tp(exp)
	return r
}

func addReservations(t testing.TB, s fulfill.Store, rs ...fulfill.Reservation) {
	t.Helper()
	update(t, s, func(tx fulfill.Tx) error {
		for _, r := range rs {
			if err := tx.AddReservation(t.Context(), r); err != nil {
				return err
			}
		}
		return nil
	})
}

func normReservations(rs []fulfill.Reservation) []fulfill.Reservation {
	out := make([]fulfill.Reservation, len(rs))
	for i, r := range rs {
		r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), utcPtr(r.ExpiresAt)
		out[i] = r
	}
	return out
}

// sameReservations compares as sets when unordered is true.
func sameReservations(t testing.TB, got, want []fulfill.Reservation, unordered bool) {
	t.Helper()
	g, w := normReservations(got), normReservations(want)
	if unordered {
		key := func(a, b fulfill.Reservation) int {
			return strings.Compare(a.OrderID+a.SKU+a.Bin+string(a.Kind), b.OrderID+b.SKU+b.Bin+string(b.Kind))
		}
		slices.SortFunc(g, key)
		slices.SortFunc(w, key)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("reservations =\n%+v\nwant\n%+v", g, w)
	}
}

func reservations(t testing.TB, s fulfill.Store, order string) []fulfill.Reservation {
	t.Helper()
	var rs []fulfill.Reservation
	view(t, s, func(tx fulfill.Tx) (err error) {
		rs, err = tx.Reservations(t.Context(), order)
		return err
	})
	return rs
}

func deleteReservations(t testing.TB, s fulfill.Store, order string, kind fulfill.ReservationKind) []fulfill.Reservation {
	t.Helper()
	var rs []fulfill.Reservation
	update(t, s, func(tx fulfill.Tx) (err error) {
		rs, err = tx.DeleteReservations(t.Context(), order, kind)
		return err
	})
	return rs
}

func testReservationAddListDelete(t *testing.T, h Harness) {
	s := open(t, h)
	seedOrders(t, s, "ord_a", "ord_b")
	f, hd := firm("ord_a", "P1", bin1, 2), hold("ord_a", "P2", bin2, 1, ts.Add(10*time.Minute))
	other := firm("ord_b", "P1", bin1, 1)
	addReservations(t, s, f, hd, other)
	sameReservations(t, reservations(t, s, "ord_a"), []fulfill.Reservation{f, hd}, false)
	sameReservations(t, deleteReservations(t, s, "ord_a", fulfill.ReservationHold), []fulfill.Reservation{hd}, true)
	sameReservations(t, reservations(t, s, "ord_a"), []fulfill.Reservation{f}, false)
	addReservations(t, s, hd)
	sameReservations(t, deleteReservations(t, s, "ord_a", ""), []fulfill.Reservation{f, hd}, true)
	if rs := reservations(t, s, "ord_a"); len(rs) != 0 {
		t.Fatalf("reservations after delete = %+v", rs)
	}
	if rs := deleteReservations(t, s, "ord_a", ""); len(rs) != 0 {
		t.Fatalf("second delete returned %+v", rs)
	}
	sameReservations(t, reservations(t, s, "ord_b"), []fulfill.Reservation{other}, false)
}

func testConvertHolds(t *testing.T, h Harness) {
	s := open(t, h)
	seedOrders(t, s, "ord_a", "ord_b")
	exp := ts.Add(10 * time.Minute)
	a1, a2, af := hold("ord_a", "P1", bin1, 2, exp), hold("ord_a", "P2", bin2, 1, exp), firm("ord_a", "P2", bin1, 3)
	b1 := hold("ord_b", "P1", bin1, 1, exp)
	addReservations(t, s, a1, a2, af, b1)
	var got []fulfill.Reservation
	update(t, s, func(tx fulfill.Tx) (err error) {
		got, err = tx.ConvertHolds(t.Context(), "ord_a")
		return err
	})
	c1, c2 := firm("ord_a", "P1", bin1, 2), firm("ord_a", "P2", bin2, 1)
	sameReservations(t, got, []fulfill.Reservation{c1, c2}, true)
	sameReservations(t, reservations(t, s, "ord_a"), []fulfill.Reservation{c1, c2, af}, true)
	sameReservations(t, reservations(t, s, "ord_b"), []fulfill.Reservation{b1}, false)
}

func testExpiredHolds(t *testing.T, h Harness) {
	s := open(t, h)
	seedOrders(t, s, "ord_a", "ord_b", "ord_c", "ord_d", "ord_e")
	addReservations(t, s,
		hold("ord_a", "P1", bin1, 1, ts.Add(1*time.Minute)),
		hold("ord_b", "P1", bin1, 1, ts.Add(3*time.Minute)),
		hold("ord_c", "P1", bin1, 1, ts.Add(2*time.Minute)),
		hold("ord_c", "P2", bin1, 1, ts.Add(150*time.Second)), // two expired holds, one id
		hold("ord_d", "P1", bin1, 1, ts.Add(time.Hour)),
		firm("ord_e", "P1", bin1, 1),
	)
	now := ts.Add(4 * time.Minute)
	view(t, s, func(tx fulfill.Tx) error {
		ids, err := tx.ExpiredHolds(t.Context(), now, 10)
		if err != nil {
			return err
		}
		slices.Sort(ids)
		if !reflect.DeepEqual(ids, []string{"ord_a", "ord_b", "ord_c"}) {
			t.Errorf("expired holds = %v, want [ord_a ord_b ord_c]", ids)
		}
		ids, err = tx.ExpiredHolds(t.Context(), now, 2)
		if err == nil && (len(ids) != 2 || ids[0] == ids[1]) {
			t.Errorf("expired holds, limit 2 = %v", ids)
		}
		return err
	})
}

// testNotificationDedupe also checks the defaults AddNotification fills:
// an empty ID (a new ntf_ id), Status ("pending") and CreatedAt (now).
func testNotificationDedupe(t *testing.T, h Harness) {
	s := open(t, h)
	n1 := &fulfill.Notification{ID: "ntf_1", OrderID: "ord_a", Event: "order.paid", DedupeKey: "ord_a:paid",
		Payload: []byte(`{"order_id":"ord_a"}`), Status: "pending", CreatedAt: ts}
	dup := &fulfill.Notification{ID: "ntf_2", OrderID: "ord_a", Event: "order.paid", DedupeKey: "ord_a:paid", CreatedAt: ts}
	n2 := &fulfill.Notification{OrderID: "ord_a", Event: "order.reserved", DedupeKey: "ord_a:reserved",
		Payload: []byte(`{}`), CreatedAt: ts.Add(time.Second)}
	n3 := &fulfill.Notification{ID: "ntf_3", OrderID: "ord_b", Event: "order.paid", DedupeKey: "ord_b:paid",
		Payload: []byte(`{}`), Status: "pending", CreatedAt: ts}
	var results []bool
	update(t, s, func(tx fulfill.Tx) error {
		for _, n := range []*fulfill.Notification{n1, dup, n2, n3} {
			ok, err := tx.AddNotification(t.Context(), n)
			if err != nil {
				return err
			}
			results = append(results, ok)
		}
		return nil
	})
	if !reflect.DeepEqual(results, []bool{true, false, true, true}) {
		t.Fatalf("inserted = %v, want [true false true true]", results)
	}
	if !strings.HasPrefix(n2.ID, "ntf_") || n2.Status != "pending" {
		t.Fatalf("defaults not filled: %+v", n2)
	}
	var got []fulfill.Notification
	view(t, s, func(tx fulfill.Tx) (err error) {
		got, err = tx.Notifications(t.Context(), "ord_a")
		return err
	})
	if len(got) != 2 {
		t.Fatalf("notifications = %+v, want 2", got)
	}
	for i, want := range []*fulfill.Notification{n1, n2} {
		g := got[i]
		if !g.CreatedAt.Equal(want.CreatedAt) || string(g.Payload) != string(want.Payload) {
			t.Fatalf("notification %d = %+v, want %+v", i, g, *want)
		}
		g.CreatedAt, g.Payload = want.CreatedAt, want.Payload
		if !reflect.DeepEqual(g, *want) {
			t.Fatalf("notification %d = %+v, want %+v", i, g, *want)
		}
	}
}

func thresholds(t testing.TB, s fulfill.Store, sku string) []fulfill.StockThreshold {
	t.Helper()
	var out []fulfill.StockThreshold
	view(t, s, func(tx fulfill.Tx) (err error) {
		out, err = tx.StockThresholds(t.Context(), sku)
		return err
	})
	return out
}

func testThresholds(t *testing.T, h Harness) {
	s := open(t, h)
	seedStock(t, s)
	set := func(sku, wh string, n int64) error {
		return s.Update(t.Context(), func(tx fulfill.Tx) error {
			return tx.SetStockThreshold(t.Context(), fulfill.StockThreshold{SKU: sku, Warehouse: wh, Threshold: n})
		})
	}
	for _, th := range []fulfill.StockThreshold{{SKU: "P2", Warehouse: "W1", Threshold: 3},
		{SKU: "P1", Warehouse: "W2", Threshold: 5}, {SKU: "P1", Warehouse: "W1", Threshold: 10}} {
		if err := set(th.SKU, th.Warehouse, th.Threshold); err != nil {
			t.Fatal(err)
		}
	}
	update(t, s, func(tx fulfill.Tx) error { return tx.MarkStockLow(t.Context(), "P1", "W1", true) })
	if err := set("P1", "W1", 20); err != nil { // keeps Low
		t.Fatal(err)
	}
	want := []fulfill.StockThreshold{{SKU: "P1", Warehouse: "W1", Threshold: 20, Low: true},
		{SKU: "P1", Warehouse: "W2", Threshold: 5}, {SKU: "P2", Warehouse: "W1", Threshold: 3}}
	if got := thresholds(t, s, ""); !reflect.DeepEqual(got, want) {
		t.Fatalf("thresholds = %+v, want %+v", got, want)
	}
	if got := thresholds(t, s, "P1"); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("thresholds of P1 = %+v, want %+v", got, want[:2])
	}
	update(t, s, func(tx fulfill.Tx) error { return tx.MarkStockLow(t.Context(), "P1", "W1", false) })
	if got := thresholds(t, s, "P1"); got[0].Low {
		t.Fatalf("low not cleared: %+v", got[0])
	}
	if got := thresholds(t, s, "NOPE"); len(got) != 0 {
		t.Fatalf("thresholds of an unknown SKU = %+v", got)
	}
	wantCode(t, set("NOPE", "W1", 1), fulfill.ENotFound)
	wantCode(t, set("P1", "W9", 1), fulfill.ENotFound)
	wantCode(t, s.Update(t.Context(), func(tx fulfill.Tx) error {
		return tx.MarkStockLow(t.Context(), "P2", "W2", true)
	}), fulfill.ENotFound)
}
