package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// orderTests check the orders of PipelineTx. Beyond the doc comments, the
// suite expects: loaded orders have non-nil (possibly empty) Lines,
// Timeline and Allocations; UpdateOrder returns fn's error unchanged; lines
// are fixed at creation.
var orderTests = map[string]func(*testing.T, Harness){
	"CreateGet":             testOrderCreateGet,
	"Duplicate":             testOrderDuplicate,
	"UpdateTransitions":     testOrderUpdate,
	"UpdateFnErrorSaves0":   testOrderUpdateFnError,
	"UpdateGuardConflict":   testOrderGuardConflict,
	"UpdateNotFound":        testOrderUpdateNotFound,
	"ListPagesAndStatus":    testOrderList,
	"PaidToAllocateOrdered": testPaidOrdersToAllocate,
	"ExpiredOrders":         testExpiredOrders,
	"LockAllocator":         testLockAllocator,
}

func inr(amount int64) fulfill.Money { return fulfill.Money{Amount: amount, Currency: "INR"} }

func tp(t time.Time) *time.Time { return &t }

// newOrder returns a pending order with every field set: two lines (P1 ×2,
// P2 ×1), a manual-capture sandbox intent "pi_<id>", an expiry 30 minutes
// after ts and the checkout timeline entry.
func newOrder(id string) *fulfill.Order {
	return &fulfill.Order{
		ID: id, Status: fulfill.StatusPendingPayment,
		Customer: fulfill.Customer{Email: "john@example.com", Phone: "+919800000000", Name: "John"},
		ShippingAddress: fulfill.Address{
			Name: "John", Line1: "1 MG Road", Line2: "Flat 2", City: "Bengaluru", Region: "KA",
			PostalCode: "560001", Country: "IN", Lat: 12.9716, Lon: 77.5946,
		},
		Lines: []fulfill.OrderLine{
			{SKU: "P1", Name: "Product P1", Quantity: 2, UnitPrice: inr(129900), Total: inr(259800)},
			{SKU: "P2", Name: "Product P2", Quantity: 1, UnitPrice: inr(50000), Total: inr(50000)},
		},
		Total: inr(309800),
		Payment: fulfill.OrderPayment{
			Provider: "sandbox", Capture: fulfill.CaptureManual, IntentID: "pi_" + id,
			ClientSecret: "pi_" + id + "_secret", ApprovalURL: "https://pay.example/" + id,
		},
		Allocations: []fulfill.Allocation{},
		Timeline:    []fulfill.TimelineEntry{{At: ts, To: fulfill.StatusPendingPayment, Cause: "checkout"}},
		CreatedAt:   ts, UpdatedAt: ts, ExpiresAt: tp(ts.Add(30 * time.Minute)),
	}
}

// paidOrder is newOrder moved to paid, confirmed at confirmed.
func paidOrder(id string, confirmed time.Time) *fulfill.Order {
	o := newOrder(id)
	if err := o.Transition(fulfill.StatusPaid, "payment.succeeded", confirmed); err != nil {
		panic(err)
	}
	o.Payment.ConfirmedAt = tp(confirmed)
	return o
}

// normOrder returns a copy of o with times in UTC and nil slices empty, so
// that two engines' readings compare equal.
func normOrder(o *fulfill.Order) fulfill.Order {
	c := *o
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.ExpiresAt = utcPtr(c.ExpiresAt)
	c.Payment.ConfirmedAt = utcPtr(c.Payment.ConfirmedAt)
	c.Lines = append([]fulfill.OrderLine{}, c.Lines...)
	c.Allocations = append([]fulfill.Allocation{}, c.Allocations...)
	c.Timeline = append([]fulfill.TimelineEntry{}, c.Timeline...)
	for i := range c.Timeline {
		c.Timeline[i].At = c.Timeline[i].At.UTC()
	}
	return c
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func sameOrder(t testing.TB, got, want *fulfill.Order) {
	t.Helper()
	if got == nil {
		t.Fatalf("order = nil, want %s", want.ID)
	}
	if got.Lines == nil || got.Timeline == nil || got.Allocations == nil {
		t.Errorf("order %s has a nil Lines, Timeline or Allocations", got.ID)
	}
	g, w := normOrder(got), normOrder(want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("order =\n%+v\nwant\n%+v", g, w)
	}
}

func createOrders(t testing.TB, s fulfill.Store, orders ...*fulfill.Order) {
	t.Helper()
	update(t, s, func(tx fulfill.Tx) error {
		for _, o := range orders {
			if err := tx.CreateOrder(t.Context(), o); err != nil {
				return fmt.Errorf("create %s: %w", o.ID, err)
			}
		}
		return nil
	})
}

func getOrder(t testing.TB, s fulfill.Store, id string) *fulfill.Order {
	t.Helper()
	var o *fulfill.Order
	view(t, s, func(tx fulfill.Tx) (err error) {
		o, err = tx.GetOrder(t.Context(), id)
		return err
	})
	return o
}

func testOrderCreateGet(t *testing.T, h Harness) {
	s := open(t, h)
	o := paidOrder("ord_a", ts.Add(time.Second))
	o.Allocations = []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}, {Warehouse: "W2", SKU: "P2", Quantity: 1}}
	bare := newOrder("ord_b")
	bare.Payment, bare.ExpiresAt, bare.Timeline, bare.Lines = fulfill.OrderPayment{}, nil, nil, nil
	createOrders(t, s, o, bare)
	sameOrder(t, getOrder(t, s, "ord_a"), o)
	sameOrder(t, getOrder(t, s, "ord_b"), bare)
	view(t, s, func(tx fulfill.Tx) error {
		got, err := tx.OrderByIntent(t.Context(), "sandbox", "pi_ord_a")
		if err != nil {
			return err
		}
		sameOrder(t, got, o)
		_, err = tx.OrderByIntent(t.Context(), "stripe", "pi_ord_a")
		wantCode(t, err, fulfill.ENotFound)
		_, err = tx.OrderByIntent(t.Context(), "sandbox", "")
		wantCode(t, err, fulfill.ENotFound)
		_, err = tx.GetOrder(t.Context(), "ord_missing")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}

func testOrderDuplicate(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"))
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateOrder(t.Context(), newOrder("ord_a"))
	}), fulfill.EAlreadyExists)
	dupIntent := newOrder("ord_b")
	dupIntent.Payment.IntentID = "pi_ord_a"
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateOrder(t.Context(), dupIntent)
	}), fulfill.EAlreadyExists)
	// The same intent id at another provider, and orders without an
	// intent yet, do not collide.
	other := newOrder("ord_c")
	other.Payment.Provider, other.Payment.IntentID = "stripe", "pi_ord_a"
	e1, e2 := newOrder("ord_d"), newOrder("ord_e")
	e1.Payment.IntentID, e2.Payment.IntentID = "", ""
	createOrders(t, s, other, e1, e2)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateOrder(t.Context(), newOrder("ord_a"))
	}), fulfill.EAlreadyExists)
}

func testOrderUpdate(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"))
	want := getOrder(t, s, "ord_a")
	at := ts.Add(time.Minute)
	allocs := []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}, {Warehouse: "W1", SKU: "P2", Quantity: 1}}
	var saved *fulfill.Order
	update(t, s, func(tx fulfill.Tx) (err error) {
		saved, err = tx.UpdateOrder(t.Context(), "ord_a", func(o *fulfill.Order) error {
			if err := o.Transition(fulfill.StatusPaid, "payment.succeeded", at); err != nil {
				return err
			}
			o.Payment.ConfirmedAt = tp(at)
			o.ExpiresAt = nil
			return o.Transition(fulfill.StatusReserved, "stock reserved", at.Add(time.Millisecond))
		})
		if err != nil {
			return err
		}
		_, err = tx.UpdateOrder(t.Context(), "ord_a", func(o *fulfill.Order) error {
			o.Allocations = allocs
			return nil
		})
		return err
	})
	_ = want.Transition(fulfill.StatusPaid, "payment.succeeded", at)
	want.Payment.ConfirmedAt, want.ExpiresAt = tp(at), nil
	_ = want.Transition(fulfill.StatusReserved, "stock reserved", at.Add(time.Millisecond))
	sameOrder(t, saved, want)
	want.Allocations = allocs
	sameOrder(t, getOrder(t, s, "ord_a"), want)

	// Replacing allocations with fewer, and a later transition, append.
	update(t, s, func(tx fulfill.Tx) error {
		_, err := tx.UpdateOrder(t.Context(), "ord_a", func(o *fulfill.Order) error {
			o.Allocations = allocs[1:]
			return o.Transition(fulfill.StatusCancelled, "operator", at.Add(time.Hour))
		})
		return err
	})
	want.Allocations = allocs[1:]
	_ = want.Transition(fulfill.StatusCancelled, "operator", at.Add(time.Hour))
	got := getOrder(t, s, "ord_a")
	sameOrder(t, got, want)
	if len(got.Timeline) != 4 {
		t.Fatalf("timeline has %d entries, want 4", len(got.Timeline))
	}
}

func testOrderUpdateFnError(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"))
	want := getOrder(t, s, "ord_a")
	sentinel := errors.New("caller's own error")
	update(t, s, func(tx fulfill.Tx) error {
		// An illegal transition: the domain's EConflict, returned as is.
		_, err := tx.UpdateOrder(t.Context(), "ord_a", func(o *fulfill.Order) error {
			o.Payment.ClientSecret = "changed"
			o.Allocations = []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}}
			return o.Transition(fulfill.StatusDelivered, "skip ahead", ts.Add(time.Minute))
		})
		wantCode(t, err, fulfill.EConflict)
		// Any error of fn aborts the save, even after a legal transition.
		_, err = tx.UpdateOrder(t.Context(), "ord_a", func(o *fulfill.Order) error {
			if err := o.Transition(fulfill.StatusPaid, "payment.succeeded", ts.Add(time.Minute)); err != nil {
				return err
			}
			return sentinel
		})
		if !errors.Is(err, sentinel) {
			t.Errorf("UpdateOrder = %v, want fn's error", err)
		}
		return nil // commit: nothing must have been saved
	})
	sameOrder(t, getOrder(t, s, "ord_a"), want)
}

// testOrderGuardConflict changes the status underneath an UpdateOrder (a
// nested UpdateOrder in the same transaction, so that it works the same on
// every engine) and expects EConflict from the guarded save.
func testOrderGuardConflict(t *testing.T, h Harness) {
	s := open(t, h)
	createOrders(t, s, newOrder("ord_a"))
	want := getOrder(t, s, "ord_a")
	err := updateErr(t, s, func(tx fulfill.Tx) error {
		_, err := tx.UpdateOrder(t.Context(), "ord_a", func(o *fulfill.Order) error {
			_, err := tx.UpdateOrder(t.Context(), "ord_a", func(in *fulfill.Order) error {
				return in.Transition(fulfill.StatusCancelled, "expired", ts.Add(time.Minute))
			})
			if err != nil {
				return fmt.Errorf("inner update: %w", err)
			}
			return o.Transition(fulfill.StatusPaid, "payment.succeeded", ts.Add(time.Minute))
		})
		return err
	})
	wantCode(t, err, fulfill.EConflict)
	sameOrder(t, getOrder(t, s, "ord_a"), want) // rolled back
}

func testOrderUpdateNotFound(t *testing.T, h Harness) {
	s := open(t, h)
	called := false
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		_, err := tx.UpdateOrder(t.Context(), "ord_missing", func(*fulfill.Order) error {
			called = true
			return nil
		})
		return err
	}), fulfill.ENotFound)
	if called {
		t.Fatal("fn called for a missing order")
	}
}

func orderIDs(os []fulfill.Order) []string {
	ids := make([]string, len(os))
	for i := range os {
		ids[i] = os[i].ID
	}
	return ids
}

func listOrders(t testing.TB, s fulfill.Store, f fulfill.OrderFilter) []fulfill.Order {
	t.Helper()
	var out []fulfill.Order
	view(t, s, func(tx fulfill.Tx) (err error) {
		out, err = tx.ListOrders(t.Context(), f)
		return err
	})
	return out
}

// allPages pages through ListOrders with page size n.
func allOrderPages(t testing.TB, s fulfill.Store, status fulfill.OrderStatus, n int) []string {
	t.Helper()
	var ids []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 30 {
			t.Fatal("pagination does not end")
		}
		page := listOrders(t, s, fulfill.OrderFilter{Status: status, Page: fulfill.Page{After: after, Limit: n}})
		if len(page) > n {
			t.Fatalf("page of %d, limit %d", len(page), n)
		}
		ids = append(ids, orderIDs(page)...)
		if len(page) < n {
			return ids
		}
		after = page[len(page)-1].ID
	}
}

func testOrderList(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 25
	var all, paid []string
	var orders []*fulfill.Order
	for i := n - 1; i >= 0; i-- { // newest first is what the store must return
		id := fmt.Sprintf("ord_%03d", i)
		o := newOrder(id)
		if i%3 == 0 {
			o = paidOrder(id, ts.Add(time.Duration(i)*time.Second))
			paid = append(paid, id)
		}
		all = append(all, id)
		orders = append([]*fulfill.Order{o}, orders...) // created oldest first
	}
	createOrders(t, s, orders...)
	if got := allOrderPages(t, s, "", 10); !reflect.DeepEqual(got, all) {
		t.Fatalf("all orders = %v, want %v", got, all)
	}
	if got := allOrderPages(t, s, fulfill.StatusPaid, 3); !reflect.DeepEqual(got, paid) {
		t.Fatalf("paid orders = %v, want %v", got, paid)
	}
	page := listOrders(t, s, fulfill.OrderFilter{Page: fulfill.Page{Limit: 1}})
	sameOrder(t, &page[0], orders[n-1])
	if got := listOrders(t, s, fulfill.OrderFilter{Status: fulfill.StatusRefunded}); len(got) != 0 {
		t.Fatalf("refunded orders = %v, want none", orderIDs(got))
	}
}

// testPaidOrdersToAllocate creates orders whose ids do not sort in arrival
// order, so that only confirmation time, then arrival, explains the result.
func testPaidOrdersToAllocate(t *testing.T, h Harness) {
	s := open(t, h)
	orders := []*fulfill.Order{
		paidOrder("ord_c", ts.Add(2*time.Second)),
		paidOrder("ord_b", ts.Add(1*time.Second)),
		paidOrder("ord_a", ts.Add(2*time.Second)), // ties with ord_c, arrived later
		newOrder("ord_d"),
		paidOrder("ord_e", ts),
		paidOrder("ord_f", ts.Add(2*time.Second)),
	}
	orders[1].Allocations = []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 2}}
	orders[2].Lines = orders[2].Lines[:1]
	if err := orders[4].Transition(fulfill.StatusBackordered, "out of stock", ts.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	createOrders(t, s, orders...)
	var got, first2, back []fulfill.Order
	update(t, s, func(tx fulfill.Tx) (err error) {
		if got, err = tx.PaidOrdersToAllocate(t.Context(), 10); err != nil {
			return err
		}
		if first2, err = tx.PaidOrdersToAllocate(t.Context(), 2); err != nil {
			return err
		}
		back, err = tx.BackorderedOrders(t.Context(), 10)
		return err
	})
	if ids := orderIDs(got); !reflect.DeepEqual(ids, []string{"ord_b", "ord_c", "ord_a", "ord_f"}) {
		t.Fatalf("paid orders to allocate = %v, want [ord_b ord_c ord_a ord_f]", ids)
	}
	sameOrder(t, &got[0], orders[1])
	sameOrder(t, &got[1], orders[0])
	sameOrder(t, &got[2], orders[2])
	if ids := orderIDs(first2); !reflect.DeepEqual(ids, []string{"ord_b", "ord_c"}) {
		t.Fatalf("first two = %v, want [ord_b ord_c]", ids)
	}
	if ids := orderIDs(back); !reflect.DeepEqual(ids, []string{"ord_e"}) {
		t.Fatalf("backordered = %v, want [ord_e]", ids)
	}
	sameOrder(t, &back[0], orders[4])
}

func testExpiredOrders(t *testing.T, h Harness) {
	s := open(t, h)
	mk := func(id string, exp *time.Time) *fulfill.Order {
		o := newOrder(id)
		o.ExpiresAt = exp
		return o
	}
	paid := paidOrder("ord_paid", ts)
	paid.ExpiresAt = tp(ts.Add(time.Minute))
	createOrders(t, s,
		mk("ord_3", tp(ts.Add(1*time.Minute))), mk("ord_1", tp(ts.Add(2*time.Minute))),
		mk("ord_2", tp(ts.Add(3*time.Minute))), mk("ord_never", nil), paid)
	now := ts.Add(150 * time.Second)
	view(t, s, func(tx fulfill.Tx) error {
		ids, err := tx.ExpiredOrders(t.Context(), now, 10)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(ids, []string{"ord_3", "ord_1"}) {
			t.Errorf("expired = %v, want [ord_3 ord_1]", ids)
		}
		ids, err = tx.ExpiredOrders(t.Context(), now, 1)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(ids, []string{"ord_3"}) {
			t.Errorf("expired limit 1 = %v, want [ord_3]", ids)
		}
		ids, err = tx.ExpiredOrders(t.Context(), ts, 10)
		if err == nil && len(ids) != 0 {
			t.Errorf("expired at ts = %v, want none", ids)
		}
		return err
	})
}

// testLockAllocator: the lock can be taken twice in one transaction and in
// transactions one after the other.
func testLockAllocator(t *testing.T, h Harness) {
	s := open(t, h)
	for range 2 {
		update(t, s, func(tx fulfill.Tx) error {
			if err := tx.LockAllocator(t.Context()); err != nil {
				return err
			}
			return tx.LockAllocator(t.Context())
		})
	}
}
