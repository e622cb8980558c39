package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: engine})
			o := decodeOrder(t, s.checkout("k-cancel", cart()))
			var got order
			r := s.send("POST", "/v1/orders/"+o.ID+"/cancel", s.merchant, map[string]any{"reason": "changed my mind"}, nil)
			if r.status != http.StatusOK {
				t.Fatalf("cancel: %d %s", r.status, r.body)
			}
			got = decodeOrder(t, r)
			last := got.Timeline[len(got.Timeline)-1]
			if got.Status != "cancelled" || last.From != "pending_payment" || last.To != "cancelled" || last.Cause != "changed my mind" {
				t.Fatalf("cancelled order %+v", got)
			}
			// Cancelled → cancelled is not in the table.
			wantError(t, s.send("POST", "/v1/orders/"+o.ID+"/cancel", s.merchant, nil, nil), 409, "conflict", "")
			wantError(t, s.send("POST", "/v1/orders/ord_missing/cancel", s.merchant, nil, nil), 404, "not_found", "")

			// No body: the cause names the API key.
			o2 := decodeOrder(t, s.checkout("k-cancel-2", cart()))
			got = decodeOrder(t, s.send("POST", "/v1/orders/"+o2.ID+"/cancel", s.merchant, nil, nil))
			if c := got.Timeline[len(got.Timeline)-1].Cause; c == "" || c == "changed my mind" {
				t.Errorf("default cause %q", c)
			}
			rows, _ := listAll[order](s.env, "/v1/orders?status=cancelled")
			if len(rows) != 2 {
				t.Errorf("%d cancelled orders listed", len(rows))
			}
		})
	}
}

func TestCancelPaidOrderQueuesRefund(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	o := decodeOrder(t, s.checkout("k-paid", cart()))
	ctx := t.Context()
	err := s.st.Update(ctx, func(tx fulfill.Tx) error {
		_, err := tx.UpdateOrder(ctx, o.ID, func(o *fulfill.Order) error {
			now := time.Now().UTC()
			o.Payment.ConfirmedAt = &now
			return o.Transition(fulfill.StatusPaid, "test payment", now)
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.send("POST", "/v1/orders/"+o.ID+"/cancel", s.merchant, nil, nil); r.status != http.StatusOK {
		t.Fatalf("cancel paid: %d %s", r.status, r.body)
	}
	jobs, _, err := s.st.Jobs().List(ctx, fulfill.JobFilter{Kind: app.RefundPaymentArgs{}.Kind()})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 {
		t.Errorf("%d refund jobs, want 1", len(jobs))
	}
}

func TestExpireOrders(t *testing.T) {
	t.Parallel()
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopOpts{engine: engine})
			old := decodeOrder(t, s.checkout("k-old", cart()))
			s.clock.Advance(20 * time.Minute)
			young := decodeOrder(t, s.checkout("k-young", cart()))
			s.clock.Advance(11 * time.Minute) // old is 31 minutes old, young 11
			if err := s.app.ExpireOrders(t.Context(), app.ExpireOrdersArgs{}); err != nil {
				t.Fatal(err)
			}
			var got order
			s.call("GET", "/v1/orders/"+old.ID, nil, http.StatusOK, &got)
			last := got.Timeline[len(got.Timeline)-1]
			if got.Status != "cancelled" || last.Cause != "expired" {
				t.Errorf("old order %s, timeline %+v", got.Status, got.Timeline)
			}
			s.call("GET", "/v1/orders/"+young.ID, nil, http.StatusOK, &got)
			if got.Status != "pending_payment" {
				t.Errorf("young order %s", got.Status)
			}
			// Running again changes nothing.
			if err := s.app.ExpireOrders(t.Context(), app.ExpireOrdersArgs{}); err != nil {
				t.Fatal(err)
			}
			s.call("GET", "/v1/orders/"+old.ID, nil, http.StatusOK, &got)
			if len(got.Timeline) != 2 {
				t.Errorf("timeline after a second run: %+v", got.Timeline)
			}
		})
	}
}

func TestExpireOrdersInBatches(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{})
	const n = 450 // more than two batches
	for i := range n {
		if _, err := s.app.Checkout(t.Context(), "test", checkoutInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Advance(time.Hour)
	if err := s.app.ExpireOrders(t.Context(), app.ExpireOrdersArgs{}); err != nil {
		t.Fatal(err)
	}
	rows, _ := listAll[order](s.env, "/v1/orders?status=cancelled&limit=1000")
	if len(rows) != n {
		t.Errorf("%d expired, want %d", len(rows), n)
	}
}

// checkoutInput is a valid cart for the app directly.
func checkoutInput(i int) app.CheckoutInput {
	return app.CheckoutInput{
		Customer: fulfill.Customer{Email: "shopper@example.com"},
		ShippingAddress: fulfill.Address{Line1: "1 MG Road", City: "Bengaluru", PostalCode: "560001", Country: "IN",
			Lat: 12.97, Lon: 77.59},
		Lines:    []app.CheckoutLine{{SKU: "BAR", Quantity: int64(1 + i%3)}},
		Currency: "INR",
		Payment:  app.CheckoutPayment{Provider: "fake"},
	}
}
