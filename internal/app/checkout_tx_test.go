package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
)

// ordersFail is a store whose transactions cannot create orders while
// fail is set (say, the disk filled up half-way through a checkout).
type ordersFail struct {
	fulfill.Store
	fail bool
}

func (s *ordersFail) Update(ctx context.Context, fn func(fulfill.Tx) error) error {
	return s.Store.Update(ctx, func(tx fulfill.Tx) error { return fn(&noOrderTx{Tx: tx, fail: s.fail}) })
}

type noOrderTx struct {
	fulfill.Tx
	fail bool
}

func (t *noOrderTx) CreateOrder(ctx context.Context, o *fulfill.Order) error {
	if t.fail {
		return fulfill.Errorf(fulfill.EUnavailable, "no space left on device")
	}
	return t.Tx.CreateOrder(ctx, o)
}

// TestCheckoutSandboxIntentInOrderTx: the sandbox keeps its intents in our
// own database, so checkout opens the intent in the order's transaction:
// a checkout whose order cannot be stored leaves no intent behind (that
// the sandbox would confirm and deliver a payment for), and a good one
// stores both.
func TestCheckoutSandboxIntentInOrderTx(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		st := &ordersFail{Store: open(t)}
		gw, err := sandbox.New(sandbox.Config{WebhookSecret: "whsec_t", WebhookURL: "http://127.0.0.1:1/webhooks/sandbox",
			AutoConfirmAfter: time.Millisecond}, st)
		if err != nil {
			t.Fatal(err)
		}
		a := app.New(st, app.Options{Logger: quiet(), Gateways: map[string]fulfill.Gateway{sandbox.Name: gw}})
		t.Cleanup(func() { _ = a.Close() })
		now := time.Now().UTC()
		if err := st.Update(ctx, func(tx fulfill.Tx) error {
			return tx.CreateProduct(ctx, &fulfill.Product{SKU: "TX-1", Name: "TX-1", Price: fulfill.Money{Amount: 100, Currency: "INR"},
				Active: true, CreatedAt: now, UpdatedAt: now})
		}); err != nil {
			t.Fatal(err)
		}
		in := app.CheckoutInput{
			Customer:        fulfill.Customer{Email: "john@example.com", Name: "John"},
			ShippingAddress: fulfill.Address{Name: "John", Line1: "1 MG Road", City: "Bengaluru", PostalCode: "560001", Country: "IN"},
			Lines:           []app.CheckoutLine{{SKU: "TX-1", Quantity: 1}},
			Currency:        "INR",
			Payment:         app.CheckoutPayment{Provider: sandbox.Name, Capture: fulfill.CaptureAutomatic},
		}
		intents := func() []*fulfill.SandboxIntent {
			t.Helper()
			var out []*fulfill.SandboxIntent
			if err := st.View(ctx, func(tx fulfill.Tx) (err error) {
				out, err = tx.DueSandboxIntents(ctx, time.Now().Add(time.Hour), 10)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		st.fail = true
		if _, err := a.Checkout(ctx, "test", in); !fulfill.IsCode(err, fulfill.EUnavailable) {
			t.Fatalf("checkout with a failing order insert: %v", err)
		}
		if got := intents(); len(got) != 0 {
			t.Fatalf("a failed checkout left intent %+v", got[0])
		}
		st.fail = false
		o, err := a.Checkout(ctx, "test", in)
		if err != nil {
			t.Fatal(err)
		}
		got := intents()
		if len(got) != 1 || got[0].ID != o.Payment.IntentID || got[0].OrderID != o.ID || o.Payment.ClientSecret == "" {
			t.Fatalf("intents %+v for order %s paying %+v", got, o.ID, o.Payment)
		}
	})
}
