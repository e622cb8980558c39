package fulfill_test

import (
	"fmt"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

// legal spells out, independently of the table in order.go, every
// transition the design allows. The test walks all 13×13 pairs.
var legal = map[[2]fulfill.OrderStatus]bool{}

func init() {
	add := func(from fulfill.OrderStatus, tos ...fulfill.OrderStatus) {
		for _, to := range tos {
			legal[[2]fulfill.OrderStatus{from, to}] = true
		}
	}
	add("pending_payment", "paid", "payment_failed", "cancelled", "exception")
	add("payment_failed", "paid", "cancelled", "exception")
	add("paid", "reserved", "backordered", "cancelled", "refunded", "exception")
	add("backordered", "reserved", "cancelled", "refunded", "exception")
	add("reserved", "picking", "cancelled", "refunded", "exception")
	add("picking", "packed", "reserved", "cancelled", "refunded", "exception")
	add("packed", "shipped", "cancelled", "refunded", "exception")
	add("shipped", "out_for_delivery", "delivered", "exception")
	add("out_for_delivery", "delivered", "exception")
	add("exception", "paid", "shipped", "out_for_delivery", "delivered", "cancelled", "refunded")
	add("delivered", "refunded")
	add("cancelled", "refunded")
}

func TestTransitionsEveryPair(t *testing.T) {
	t.Parallel()
	if len(fulfill.OrderStatuses) != 13 {
		t.Fatalf("want 13 statuses, have %d", len(fulfill.OrderStatuses))
	}
	for _, from := range fulfill.OrderStatuses {
		for _, to := range fulfill.OrderStatuses {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				want := legal[[2]fulfill.OrderStatus{from, to}]
				if got := fulfill.CanTransition(from, to); got != want {
					t.Fatalf("CanTransition = %v, want %v", got, want)
				}
				err := fulfill.CheckTransition(from, to)
				if want && err != nil {
					t.Fatalf("CheckTransition: %v", err)
				}
				if !want && (err == nil || err.(*fulfill.Error).Code != fulfill.EConflict) {
					t.Fatalf("CheckTransition = %v, want conflict", err)
				}
			})
		}
	}
}

func TestTransitionUnknownStatus(t *testing.T) {
	t.Parallel()
	if fulfill.OrderStatus("lost").Valid() {
		t.Fatal("lost is not a status")
	}
	err := fulfill.CheckTransition("paid", "lost")
	if err == nil || err.(*fulfill.Error).Code != fulfill.EInvalid {
		t.Fatalf("got %v, want invalid", err)
	}
	if !fulfill.StatusRefunded.Terminal() || fulfill.StatusPaid.Terminal() {
		t.Fatal("terminal statuses wrong")
	}
}
