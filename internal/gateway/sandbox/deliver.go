package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// DeliverArgs is one webhook delivery: a durable job whose handler POSTs
// the event, signed at sending time, to URL. A non-2xx answer fails the job,
// which the queue retries with backoff until its attempts run out (then the
// job is dead and visible to operators).
type DeliverArgs struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	URL     string `json:"url"`
	// Event is the event's JSON, as delivered.
	Event json.RawMessage `json:"event"`
	// FailFirst fails attempts 1..FailFirst without sending (the fail_first
	// knob).
	FailFirst int `json:"fail_first,omitempty"`
	// Next is queued once this delivery succeeded (the out_of_order knob:
	// a stale event that must arrive after this one).
	Next *DeliverArgs `json:"next,omitempty"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "sandbox_deliver" }

// delivery builds the delivery of ev to the configured URL.
func (g *Gateway) delivery(ev *event, failFirst int) *DeliverArgs {
	raw, err := json.Marshal(ev)
	if err != nil {
		panic(err) // an event of strings, ints and raw JSON always marshals
	}
	return &DeliverArgs{EventID: ev.ID, Type: ev.Type, URL: g.cfg.WebhookURL, Event: raw, FailFirst: failFirst}
}

// enqueue queues d in tx, at at (zero: now).
func (g *Gateway) enqueue(ctx context.Context, tx fulfill.Tx, d *DeliverArgs, at time.Time) error {
	return tx.Enqueue(ctx, *d, &fulfill.JobOpts{MaxAttempts: g.cfg.DeliveryAttempts, ScheduledAt: at})
}

// Deliver is the handler of DeliverArgs: it POSTs the signed event and
// returns an error (so the queue retries) on a network failure or a
// non-2xx answer; after a success it queues the chained delivery, if any.
func (g *Gateway) Deliver(ctx context.Context, args DeliverArgs) error {
	if n := fulfill.JobAttempt(ctx); n <= args.FailFirst {
		return fmt.Errorf("sandbox: attempt %d of event %s fails on purpose (fail_first %d)", n, args.EventID, args.FailFirst)
	}
	if err := g.post(ctx, args); err != nil {
		return err
	}
	if args.Next == nil {
		return nil
	}
	return g.store.Update(ctx, func(tx fulfill.Tx) error { return g.enqueue(ctx, tx, args.Next, time.Time{}) })
}

// post sends one signed delivery.
func (g *Gateway) post(ctx context.Context, args DeliverArgs) error {
	body := []byte(args.Event)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, args.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sandbox: delivery request for %s: %w", args.EventID, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Fulfill-Sandbox/1.0 (+webhooks)")
	req.Header.Set(SignatureHeader, Sign(g.cfg.WebhookSecret, g.clock.Now(), body))
	resp, err := g.http.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox: deliver %s to %s: %w", args.EventID, args.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sandbox: deliver %s to %s: HTTP %d", args.EventID, args.URL, resp.StatusCode)
	}
	return nil
}
