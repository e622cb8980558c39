package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
)

// loadOrder is an order waiting for its payment webhook.
type loadOrder struct {
	ID       string        `json:"id"`
	IntentID string        `json:"intent_id"`
	Amount   fulfill.Money `json:"amount"`
}

// webhooks is `fulfill load webhooks`: create orders through checkout (or
// reuse saved ones), then send a Stripe-scheme-signed sandbox
// payment_intent.succeeded for each at the rate, and measure how long the
// queue takes to apply them.
func (l *loader) webhooks(ctx context.Context) error {
	if l.o.rate == 0 {
		l.o.rate = 1000
	}
	if l.o.secret == "" {
		return usagef("load webhooks: the sandbox webhook secret is required (--secret, FULFILL_SANDBOX_WEBHOOK_SECRET, or --data of the server)")
	}
	total := int(float64(l.o.rate) * l.o.duration.Seconds())
	if l.o.orders == 0 {
		l.o.orders = total
	}
	orders, err := l.prepareOrders(ctx)
	if err != nil {
		return err
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var seq atomic.Uint64
	tr := func(t *vegeta.Target) error {
		n := seq.Add(1) - 1
		o := orders[n%uint64(len(orders))]
		now := time.Now()
		body := sandbox.SucceededEventJSON("evt_load_"+run+"_"+strconv.FormatUint(n, 10), o.IntentID, o.ID, o.Amount, now)
		t.Method, t.URL, t.Body = http.MethodPost, l.o.url+"/webhooks/sandbox", body
		t.Header = http.Header{"Content-Type": {"application/json"}, sandbox.SignatureHeader: {sandbox.Sign(l.o.secret, now, body)}}
		return nil
	}
	fmt.Fprintf(l.stdout, "load webhooks: %d/s for %s against %s (%d orders)\n", l.o.rate, l.o.duration, l.o.url, len(orders))
	obs := l.observe(ctx)
	res := l.attack(ctx, "webhooks", tr)
	sent := time.Now()
	drained, derr := l.waitDrained(ctx)
	lag := obs.stop()
	if err := l.report(res, "webhooks"); err != nil {
		return err
	}
	fmt.Fprintf(l.stdout, "queue lag      max %s during the run and the drain\n", lag.Round(time.Millisecond))
	if derr != nil {
		fmt.Fprintf(l.stdout, "queue drain    not drained: %v\n", derr)
	} else {
		fmt.Fprintf(l.stdout, "queue drain    every received webhook applied %s after the last one was sent\n", drained.Sub(sent).Round(time.Millisecond))
	}
	return l.sampleOrders(ctx, orders)
}

// prepareOrders loads orders from --orders-file, or restocks and creates
// them through checkout (saving them to --orders-file when given).
func (l *loader) prepareOrders(ctx context.Context) ([]loadOrder, error) {
	if l.o.ordersFile != "" {
		if orders, err := readOrders(l.o.ordersFile); err == nil && len(orders) > 0 {
			fmt.Fprintf(l.stdout, "reusing %d orders from %s\n", len(orders), l.o.ordersFile)
			return orders, nil
		}
	}
	skus, err := l.skuList(ctx)
	if err != nil {
		return nil, err
	}
	if l.o.restock {
		if err := l.restock(ctx, skus, l.o.orders/len(skus)+1); err != nil {
			return nil, err
		}
	}
	orders, err := l.createOrders(ctx, skus)
	if err != nil {
		return nil, err
	}
	if l.o.ordersFile != "" {
		if err := writeOrders(l.o.ordersFile, orders); err != nil {
			return nil, err
		}
	}
	return orders, nil
}

// parallel runs fn(i) for i in [0, n) on the setup workers with a progress
// bar, stopping at the first error.
func (l *loader) parallel(ctx context.Context, desc string, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	bar := l.newBar(desc, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(l.o.setupWorkers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
				_ = bar.Add(1)
			}
		})
	}
	wg.Wait()
	_ = bar.Finish()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// restock receives perWarehouse units of every SKU into one bin of each
// warehouse that stocks it.
func (l *loader) restock(ctx context.Context, skus []string, perWarehouse int) error {
	return l.parallel(ctx, "restock", len(skus), func(ctx context.Context, i int) error {
		var bins struct {
			Data []fulfill.BinStock `json:"data"`
		}
		if err := l.getJSON(ctx, "/v1/stock/bins?limit=1000&sku="+skus[i], &bins); err != nil {
			return err
		}
		done := map[string]bool{}
		for _, b := range bins.Data {
			if done[b.Warehouse] {
				continue
			}
			done[b.Warehouse] = true
			body, _ := json.Marshal(map[string]any{"sku": b.SKU, "warehouse": b.Warehouse, "bin": b.Bin, "quantity": perWarehouse, "reference": "load test"})
			raw, status, err := l.do(ctx, http.MethodPost, "/v1/stock/receipts", nil, body)
			if err != nil || status != http.StatusCreated {
				return fmt.Errorf("restock %s: HTTP %d %s %v", b.SKU, status, raw, err)
			}
		}
		return nil
	})
}

// createOrders makes --orders orders through checkout.
func (l *loader) createOrders(ctx context.Context, skus []string) ([]loadOrder, error) {
	orders := make([]loadOrder, l.o.orders)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	err := l.parallel(ctx, "orders", l.o.orders, func(ctx context.Context, i int) error {
		hdr := http.Header{"Idempotency-Key": {"load-order-" + run + "-" + strconv.Itoa(i)}}
		raw, status, err := l.do(ctx, http.MethodPost, "/v1/checkout", hdr, checkoutJSON(uint64(i), skus[rand.IntN(len(skus))]))
		if err != nil || status != http.StatusCreated {
			return fmt.Errorf("checkout: HTTP %d %s %v", status, raw, err)
		}
		var o fulfill.Order
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		orders[i] = loadOrder{ID: o.ID, IntentID: o.Payment.IntentID, Amount: o.Total}
		return nil
	})
	return orders, err
}

func readOrders(path string) ([]loadOrder, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []loadOrder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var o loadOrder
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, o)
	}
	return out, sc.Err()
}

func writeOrders(path string, orders []loadOrder) error {
	var b strings.Builder
	for _, o := range orders {
		line, _ := json.Marshal(o)
		b.Write(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// waitDrained polls the webhook inbox until no event waits in status
// received, and returns when that was seen.
func (l *loader) waitDrained(ctx context.Context) (time.Time, error) {
	deadline := time.Now().Add(l.o.drainTimeout)
	for {
		var p struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := l.getJSON(ctx, "/v1/webhooks/events?status=received&limit=1", &p); err != nil {
			return time.Time{}, err
		}
		if len(p.Data) == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("events still waiting after %s", l.o.drainTimeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sampleOrders prints the statuses of up to 200 of the orders.
func (l *loader) sampleOrders(ctx context.Context, orders []loadOrder) error {
	step := max(1, len(orders)/200)
	counts := map[fulfill.OrderStatus]int{}
	n := 0
	for i := 0; i < len(orders); i += step {
		var o fulfill.Order
		if err := l.getJSON(ctx, "/v1/orders/"+orders[i].ID, &o); err != nil {
			return err
		}
		counts[o.Status]++
		n++
	}
	var parts []string
	for s, c := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", s, c))
	}
	fmt.Fprintf(l.stdout, "orders         a sample of %d: %s\n", n, strings.Join(parts, ", "))
	return nil
}
