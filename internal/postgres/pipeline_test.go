package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/postgres"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// pipelineStore opens a fresh store seeded with product P1, warehouse W1
// and bin B1.
func pipelineStore(t *testing.T) fulfill.Store {
	t.Helper()
	h := newHarness(t)
	s := h.Open(t, h.NewDB(t), queue.Config{})
	err := s.Update(t.Context(), func(tx fulfill.Tx) error {
		ctx := t.Context()
		if err := tx.CreateProduct(ctx, &fulfill.Product{SKU: "P1", Name: "P", Price: fulfill.Money{Amount: 100, Currency: "INR"}}); err != nil {
			return err
		}
		if err := tx.CreateWarehouse(ctx, &fulfill.Warehouse{Code: "W1", Name: "W", CutoffTime: "16:00", TimeZone: "UTC"}); err != nil {
			return err
		}
		return tx.CreateBin(ctx, &fulfill.Bin{Warehouse: "W1", Code: "B1", Zone: "A", Aisle: "1", Rack: "1", Shelf: "1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// paid returns a paid order confirmed at t0 + i seconds.
func paid(id string, i int) *fulfill.Order {
	at := t0.Add(time.Duration(i) * time.Second)
	o := &fulfill.Order{ID: id, Status: fulfill.StatusPendingPayment,
		Customer: fulfill.Customer{Email: "a@example.com"},
		Lines:    []fulfill.OrderLine{{SKU: "P1", Name: "P", Quantity: 1, UnitPrice: fulfill.Money{Amount: 100, Currency: "INR"}, Total: fulfill.Money{Amount: 100, Currency: "INR"}}},
		Total:    fulfill.Money{Amount: 100, Currency: "INR"},
		Payment:  fulfill.OrderPayment{Provider: "sandbox", IntentID: "pi_" + id},
		Timeline: []fulfill.TimelineEntry{{At: t0, To: fulfill.StatusPendingPayment, Cause: "checkout"}},
	}
	if err := o.Transition(fulfill.StatusPaid, "payment.succeeded", at); err != nil {
		panic(err)
	}
	o.Payment.ConfirmedAt = &at
	return o
}

// TestLockAllocatorSerialises runs read-modify-write cycles (two
// statements, which read committed alone would interleave and lose
// updates) under LockAllocator from many goroutines, and expects none lost.
func TestLockAllocatorSerialises(t *testing.T) {
	t.Parallel()
	s := pipelineStore(t)
	ctx := t.Context()
	if err := s.Update(ctx, func(tx fulfill.Tx) error {
		return tx.SetStockThreshold(ctx, fulfill.StockThreshold{SKU: "P1", Warehouse: "W1"})
	}); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := s.Update(ctx, func(tx fulfill.Tx) error {
				if err := tx.LockAllocator(ctx); err != nil {
					return err
				}
				ths, err := tx.StockThresholds(ctx, "P1")
				if err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // widen the window a lost update needs
				return tx.SetStockThreshold(ctx, fulfill.StockThreshold{SKU: "P1", Warehouse: "W1", Threshold: ths[0].Threshold + 1})
			})
			if err != nil {
				t.Errorf("update: %v", err)
			}
		})
	}
	wg.Wait()
	err := s.View(ctx, func(tx fulfill.Tx) error {
		ths, err := tx.StockThresholds(ctx, "P1")
		if err == nil && ths[0].Threshold != n {
			t.Errorf("threshold = %d after %d locked increments", ths[0].Threshold, n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUpdateOrder: many transactions move one paid order to
// reserved when it is still paid. The row lock makes the others wait and
// then see reserved, so exactly one transition happens and none fails.
func TestConcurrentUpdateOrder(t *testing.T) {
	t.Parallel()
	s := pipelineStore(t)
	ctx := t.Context()
	if err := s.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateOrder(ctx, paid("ord_1", 0)) }); err != nil {
		t.Fatal(err)
	}
	var moved atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			err := s.Update(ctx, func(tx fulfill.Tx) error {
				_, err := tx.UpdateOrder(ctx, "ord_1", func(o *fulfill.Order) error {
					if o.Status != fulfill.StatusPaid {
						return nil
					}
					moved.Add(1)
					o.Allocations = []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: int64(i + 1)}}
					return o.Transition(fulfill.StatusReserved, "reserved", t0.Add(time.Minute))
				})
				return err
			})
			if err != nil {
				t.Errorf("update: %v", err)
			}
		})
	}
	wg.Wait()
	if moved.Load() != 1 {
		t.Fatalf("%d transactions saw paid, want 1", moved.Load())
	}
	err := s.View(ctx, func(tx fulfill.Tx) error {
		o, err := tx.GetOrder(ctx, "ord_1")
		if err == nil && (o.Status != fulfill.StatusReserved || len(o.Timeline) != 3 || len(o.Allocations) != 1) {
			t.Errorf("order = %+v", o)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestViewTakesNoRowLocks: the "locked" readers work in a read-only
// transaction, where PostgreSQL refuses FOR UPDATE.
func TestViewTakesNoRowLocks(t *testing.T) {
	t.Parallel()
	s := pipelineStore(t)
	ctx := t.Context()
	err := s.Update(ctx, func(tx fulfill.Tx) error {
		if err := tx.CreateOrder(ctx, paid("ord_1", 0)); err != nil {
			return err
		}
		_, err := tx.InsertWebhookEvent(ctx, &fulfill.WebhookEvent{Provider: "sandbox", EventID: "evt_1",
			Type: fulfill.PaymentSucceeded, OccurredAt: t0})
		if err != nil {
			return err
		}
		return tx.CreateSandboxIntent(ctx, &fulfill.SandboxIntent{ID: "sbx_1", Status: "requires_payment", AutoConfirmAt: &t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx fulfill.Tx) error {
		if os, err := tx.PaidOrdersToAllocate(ctx, 10); err != nil || len(os) != 1 {
			return fmt.Errorf("paid orders %d: %w", len(os), err)
		}
		if os, err := tx.BackorderedOrders(ctx, 10); err != nil || len(os) != 0 {
			return fmt.Errorf("backordered %d: %w", len(os), err)
		}
		if es, err := tx.ReceivedWebhookEvents(ctx, 10); err != nil || len(es) != 1 {
			return fmt.Errorf("received events %d: %w", len(es), err)
		}
		if _, err := tx.GetSandboxIntent(ctx, "sbx_1"); err != nil {
			return err
		}
		if sis, err := tx.DueSandboxIntents(ctx, t0, 10); err != nil || len(sis) != 1 {
			return fmt.Errorf("due sandbox intents %d: %w", len(sis), err)
		}
		// Without a transaction of its own, a View can't hold the
		// allocator's lock or commit a job: both are refused, as on SQLite.
		if err := tx.LockAllocator(ctx); !fulfill.IsCode(err, fulfill.EInternal) {
			return fmt.Errorf("lock allocator in a view: %v", err)
		}
		if err := tx.Enqueue(ctx, viewJob{}, nil); !fulfill.IsCode(err, fulfill.EInternal) {
			return fmt.Errorf("enqueue in a view: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type viewJob struct{}

func (viewJob) Kind() string { return "view_job" }

// TestLazyCommitIsScoped: UpdateLazy's transaction commits without
// waiting for the disk, and only it: the same connection's next Update,
// and View, wait as before.
func TestLazyCommitIsScoped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s, err := postgres.Open(t.Context(), postgres.Config{URL: h.url, Schema: h.NewDB(t), MaxConns: 1, MaxReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	setting := func(run func(context.Context, func(fulfill.Tx) error) error, name string) string {
		t.Helper()
		var v string
		if err := run(ctx, func(tx fulfill.Tx) (err error) {
			v, err = postgres.Setting(ctx, tx, name)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name        string
		run         func(context.Context, func(fulfill.Tx) error) error
		param, want string
	}{
		{"update", s.Update, "synchronous_commit", "on"},
		{"lazy update", s.UpdateLazy, "synchronous_commit", "off"},
		{"update after a lazy one", s.Update, "synchronous_commit", "on"},
		{"lazy update", s.UpdateLazy, "transaction_read_only", "off"},
		{"view", s.View, "transaction_read_only", "on"},
		{"update", s.Update, "transaction_read_only", "off"},
	} {
		if got := setting(c.run, c.param); got != c.want {
			t.Errorf("%s: %s = %s, want %s", c.name, c.param, got, c.want)
		}
	}
}

// TestDueSandboxIntentsSkipLocked: a second sweeper does not wait for
// the intents the first one holds; it takes the others at once.
func TestDueSandboxIntentsSkipLocked(t *testing.T) {
	t.Parallel()
	s := pipelineStore(t)
	ctx := t.Context()
	err := s.Update(ctx, func(tx fulfill.Tx) error {
		for i := range 3 {
			at := t0.Add(time.Duration(i) * time.Second)
			si := &fulfill.SandboxIntent{ID: fmt.Sprintf("sbx_%d", i), Status: "requires_payment", AutoConfirmAt: &at}
			if err := tx.CreateSandboxIntent(ctx, si); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan error, 1), make(chan struct{})
	go func() {
		held <- s.Update(ctx, func(tx fulfill.Tx) error {
			sis, err := tx.DueSandboxIntents(ctx, t0.Add(time.Hour), 2)
			if err != nil || len(sis) != 2 || sis[0].ID != "sbx_0" {
				return fmt.Errorf("first sweeper took %d: %w", len(sis), err)
			}
			held <- nil
			<-release
			return nil
		})
	}()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(release)
		if err := <-held; err != nil {
			t.Error(err)
		}
	}()
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = s.Update(tctx, func(tx fulfill.Tx) error {
		sis, err := tx.DueSandboxIntents(tctx, t0.Add(time.Hour), 10)
		if err != nil || len(sis) != 1 || sis[0].ID != "sbx_2" {
			return fmt.Errorf("second sweeper took %d (want sbx_2 alone, without waiting): %w", len(sis), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExpectedFailuresKeepTxUsable: on PostgreSQL a failed statement
// aborts the whole transaction, so every expected domain error must be
// found without one: the transaction goes on and commits.
func TestExpectedFailuresKeepTxUsable(t *testing.T) {
	t.Parallel()
	s := pipelineStore(t)
	ctx := t.Context()
	if err := s.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateOrder(ctx, paid("ord_1", 0)) }); err != nil {
		t.Fatal(err)
	}
	want := func(err error, code fulfill.ErrorCode, what string) {
		t.Helper()
		if !fulfill.IsCode(err, code) {
			t.Errorf("%s = %v, want %s", what, err, code)
		}
	}
	err := s.Update(ctx, func(tx fulfill.Tx) error {
		want(tx.CreateOrder(ctx, paid("ord_1", 1)), fulfill.EAlreadyExists, "duplicate order id")
		dup := paid("ord_2", 1)
		dup.Payment.IntentID = "pi_ord_1"
		want(tx.CreateOrder(ctx, dup), fulfill.EAlreadyExists, "duplicate intent")
		want(tx.AddReservation(ctx, fulfill.Reservation{OrderID: "ord_missing", SKU: "P1", Warehouse: "W1", Bin: "B1",
			Quantity: 1, Kind: fulfill.ReservationFirm}), fulfill.ENotFound, "reservation of a missing order")
		want(tx.AddReservation(ctx, fulfill.Reservation{OrderID: "ord_1", SKU: "P1", Warehouse: "W1", Bin: "B9",
			Quantity: 1, Kind: fulfill.ReservationFirm}), fulfill.ENotFound, "reservation in a missing bin")
		want(tx.SetStockThreshold(ctx, fulfill.StockThreshold{SKU: "P9", Warehouse: "W1"}), fulfill.ENotFound, "threshold of a missing SKU")
		si := &fulfill.SandboxIntent{ID: "sbx_1", Status: "requires_payment"}
		if err := tx.CreateSandboxIntent(ctx, si); err != nil {
			return err
		}
		want(tx.CreateSandboxIntent(ctx, si), fulfill.EAlreadyExists, "duplicate sandbox intent")
		want(tx.UpdateSandboxIntent(ctx, si, "succeeded"), fulfill.EConflict, "stale sandbox intent")
		if _, err := tx.UpdateOrder(ctx, "ord_1", func(o *fulfill.Order) error {
			return o.Transition(fulfill.StatusReserved, "reserved", t0.Add(time.Minute))
		}); err != nil {
			return err
		}
		_, err := tx.UpdateOrder(ctx, "ord_1", func(o *fulfill.Order) error {
			_, err := tx.UpdateOrder(ctx, "ord_1", func(in *fulfill.Order) error {
				return in.Transition(fulfill.StatusPicking, "pick", t0.Add(2*time.Minute))
			})
			if err != nil {
				return err
			}
			return o.Transition(fulfill.StatusCancelled, "cancel", t0.Add(2*time.Minute))
		})
		want(err, fulfill.EConflict, "guarded save after a nested change")
		return tx.AddReservation(ctx, fulfill.Reservation{OrderID: "ord_1", SKU: "P1", Warehouse: "W1", Bin: "B1",
			Quantity: 1, Kind: fulfill.ReservationFirm})
	})
	if err != nil {
		t.Fatalf("transaction after expected failures: %v", err)
	}
	err = s.View(ctx, func(tx fulfill.Tx) error {
		o, err := tx.GetOrder(ctx, "ord_1")
		if err == nil && (o.Status != fulfill.StatusPicking || len(o.Timeline) != 4) {
			t.Errorf("order = %s with %d timeline entries, want picking with 4", o.Status, len(o.Timeline))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPaidOrdersToAllocate reads batches of 100 paid orders with
// their children, locked: the payment stage's hot read.
func BenchmarkPaidOrdersToAllocate(b *testing.B) {
	h := newHarness(b)
	s := h.Open(b, h.NewDB(b), queue.Config{})
	ctx := b.Context()
	err := s.Update(ctx, func(tx fulfill.Tx) error {
		for i := range 500 {
			if err := tx.CreateOrder(ctx, paid(fmt.Sprintf("ord_%04d", i), i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		err := s.Update(ctx, func(tx fulfill.Tx) error {
			os, err := tx.PaidOrdersToAllocate(ctx, 100)
			if err == nil && len(os) != 100 {
				err = fmt.Errorf("got %d orders", len(os))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateUpdateOrder is checkout then payment of one order: one
// CreateOrder transaction and one UpdateOrder transaction.
func BenchmarkCreateUpdateOrder(b *testing.B) {
	h := newHarness(b)
	s := h.Open(b, h.NewDB(b), queue.Config{})
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		o := paid(fmt.Sprintf("ord_%08d", i), i)
		if err := s.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateOrder(ctx, o) }); err != nil {
			b.Fatal(err)
		}
		err := s.Update(ctx, func(tx fulfill.Tx) error {
			_, err := tx.UpdateOrder(ctx, o.ID, func(o *fulfill.Order) error {
				o.Allocations = []fulfill.Allocation{{Warehouse: "W1", SKU: "P1", Quantity: 1}}
				return o.Transition(fulfill.StatusReserved, "reserved", t0)
			})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
