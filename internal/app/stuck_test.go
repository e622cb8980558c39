package app_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// stuckStore fails, while on, every transaction that marks the poison
// event processed: an event the payment stage can't apply, whatever the
// reason.
type stuckStore struct {
	fulfill.Store
	poison string
	on     atomic.Bool
}

func (s *stuckStore) Update(ctx context.Context, fn func(fulfill.Tx) error) error {
	return s.Store.Update(ctx, func(tx fulfill.Tx) error { return fn(stuckTx{tx, s}) })
}

type stuckTx struct {
	fulfill.Tx
	s *stuckStore
}

func (t stuckTx) MarkWebhookEvents(ctx context.Context, ids []string, st fulfill.WebhookStatus, at time.Time) error {
	if t.s.on.Load() && st == fulfill.WebhookProcessed && slices.Contains(ids, t.s.poison) {
		return errors.New("injected failure")
	}
	return t.Tx.MarkWebhookEvents(ctx, ids, st, at)
}

// TestPoisonEventSetAside: an event that makes every batch fail holds up
// the payments behind it only until the job's second attempt; then the
// events are applied one by one, the others have their effect, and the
// failing one is marked failed with its error. Replayed once the cause is
// gone, it is applied.
func TestPoisonEventSetAside(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		base := open(t)
		f := newFixture(t, base, app.Options{})
		f.stockP1()
		os := f.orders(3, orderSpec{lines: []fulfill.AllocLine{{SKU: "P-1", Quantity: 1}}, addr: fulfill.Address{Lat: 12.9, Lon: 77.6}})
		evs := paidEvents(f, os)
		f.insertEvents(evs)

		st := &stuckStore{Store: base, poison: evs[1].ID}
		st.on.Store(true)
		a := app.New(st, app.Options{Logger: quiet(), Gateways: map[string]fulfill.Gateway{"test": f.gw}})
		t.Cleanup(func() { _ = a.Close() })

		if err := a.ProcessPayments(fulfill.WithJobAttempt(f.ctx, 1), app.ProcessPaymentsArgs{}); err == nil ||
			!strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("first attempt = %v, want the injected failure", err)
		}
		for _, o := range os {
			if got := f.order(o.ID).Status; got != fulfill.StatusPendingPayment {
				t.Fatalf("after a failed batch, order %s is %s: the batch was not undone", o.ID, got)
			}
		}
		if err := a.ProcessPayments(fulfill.WithJobAttempt(f.ctx, 2), app.ProcessPaymentsArgs{}); err != nil {
			t.Fatalf("second attempt = %v, want the poison set aside", err)
		}
		for i, want := range []fulfill.OrderStatus{fulfill.StatusReserved, fulfill.StatusPendingPayment, fulfill.StatusReserved} {
			if got := f.order(os[i].ID).Status; got != want {
				t.Errorf("order %d: %s, want %s", i, got, want)
			}
		}
		ev, err := a.GetWebhookEvent(f.ctx, evs[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Status != fulfill.WebhookFailed || !strings.Contains(ev.Error, "injected failure") {
			t.Fatalf("poison event: %s %q, want failed with its error", ev.Status, ev.Error)
		}

		st.on.Store(false)
		if _, err := a.ReplayWebhookEvent(f.ctx, "test", ev.ID); err != nil {
			t.Fatal(err)
		}
		if err := a.ProcessPayments(fulfill.WithJobAttempt(f.ctx, 1), app.ProcessPaymentsArgs{}); err != nil {
			t.Fatal(err)
		}
		if got := f.order(os[1].ID).Status; got != fulfill.StatusReserved {
			t.Errorf("replayed order: %s, want reserved", got)
		}
		checkStock(t, base, ids(os))
	})
}
