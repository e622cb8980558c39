// Package app holds Fulfill's use cases: the business rules above the
// store. Each use case validates its input with the domain's rules, runs in
// one store transaction and names the actor who asked for it. It imports only
// the domain package and the standard library, so it never knows which
// database or transport it runs on.
package app

import (
	"log/slog"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// Actors that are not API keys.
const (
	// ActorImport is the actor of CSV imports and the demo loader.
	ActorImport = "import"
	// ActorSystem is the actor of background jobs.
	ActorSystem = "system"
)

// Defaults of Options.
const (
	// DefaultOrderTTL is how long an unpaid order waits for its payment.
	DefaultOrderTTL = 30 * time.Minute
	// DefaultIdempotencyTTL is how long an Idempotency-Key is remembered.
	DefaultIdempotencyTTL = 24 * time.Hour
	// DefaultHoldTTL is how long a checkout hold keeps stock.
	DefaultHoldTTL = 10 * time.Minute
	// DefaultWebhookBatchMax is the most webhook events in one commit.
	DefaultWebhookBatchMax = 256
)

// Options configures an App; zero fields take defaults.
type Options struct {
	// Clock tells the time (default fulfill.SystemClock).
	Clock fulfill.Clock
	// Logger receives audit and error logs (default slog.Default()).
	Logger *slog.Logger

	// Gateways are the configured payment gateways by provider name
	// (sandbox, stripe, razorpay, paypal). Checkout accepts only these.
	Gateways map[string]fulfill.Gateway
	// Sandbox plays the shopper on the sandbox gateway's payment page; nil
	// when the sandbox is not configured.
	Sandbox SandboxPayments
	// OrderTTL is how long an unpaid order lives before expire_orders
	// cancels it (default 30m).
	OrderTTL time.Duration
	// IdempotencyTTL is how long Idempotency-Keys are kept (default 24h;
	// shorter values are raised to 24h, the guarantee of the API).
	IdempotencyTTL time.Duration
	// WebhookBatchWait and WebhookBatchMax bound a group commit of the
	// webhook inbox (defaults: no wait — events arriving during a commit
	// form the next one — and 256 events).
	WebhookBatchWait time.Duration
	WebhookBatchMax  int

	// DefaultPolicy is the merchant's out-of-stock policy for paid orders
	// that get no stock; products may override it (W4 documents the
	// default: void for manual capture, refund for automatic).
	DefaultPolicy fulfill.OutOfStockPolicy
	// HoldAtCheckout places a soft hold on stock at checkout.
	HoldAtCheckout bool
	// HoldTTL is how long a checkout hold lasts (default 10m).
	HoldTTL time.Duration
	// PostalPrefixes locates customers without coordinates by the longest
	// matching postal-code prefix.
	PostalPrefixes map[string]fulfill.GeoPoint
	// DefaultWarehouse serves customers that can't be located.
	DefaultWarehouse string
	// PaymentBatch is the most webhook events one transaction of the
	// payment stage applies (default 500; W4, payments.go).
	PaymentBatch int
	// PaymentBatchDelay is how long a process_payments job lets webhook
	// events gather before its first transaction (zero: none).
	PaymentBatchDelay time.Duration
	// Background, when set, runs the payment stage's work (fn) and returns
	// when fn has returned; the server runs it on a thread of lower
	// operating-system priority, so that acknowledging webhooks and
	// answering requests get the CPU first. A panic in fn must reach the
	// caller.
	Background func(fn func())
}

// App runs Fulfill's use cases against one store.
type App struct {
	store fulfill.Store
	clock fulfill.Clock
	log   *slog.Logger
	opts  Options

	// inbox is the webhook group-commit batcher, started on first use and
	// stopped by Close.
	inboxOnce sync.Once
	inbox     *inbox

	// kick, kickQuit and kickDone run the kicker (payments.go) of a store
	// with its own webhook inbox; pay tracks this process's
	// process_payments jobs for it.
	kick      chan struct{}
	kickQuit  chan struct{}
	kickDone  chan struct{}
	closeKick sync.Once
	pay       payState
}

// New returns an App on store s.
func New(s fulfill.Store, o Options) *App {
	a := &App{store: s, clock: o.Clock, log: o.Logger}
	if a.clock == nil {
		a.clock = fulfill.SystemClock{}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if o.OrderTTL <= 0 {
		o.OrderTTL = DefaultOrderTTL
	}
	if o.IdempotencyTTL < DefaultIdempotencyTTL {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.HoldTTL <= 0 {
		o.HoldTTL = DefaultHoldTTL
	}
	if o.WebhookBatchMax <= 0 {
		o.WebhookBatchMax = DefaultWebhookBatchMax
	}
	if o.PaymentBatch <= 0 {
		o.PaymentBatch = DefaultPaymentBatch
	}
	a.opts = o
	if wi, ok := s.(fulfill.WebhookInbox); ok {
		a.kick, a.kickQuit, a.kickDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go a.runKicker(wi)
	}
	return a
}

// Close stops the App's background work (the webhook inbox batcher),
// finishing what was already submitted. Call it after the HTTP server has
// stopped taking requests and before closing the store.
func (a *App) Close() error {
	a.inboxOnce.Do(func() {}) // a batcher never started stays unstarted
	if a.inbox != nil {
		a.inbox.close()
	}
	if a.kickQuit != nil {
		a.closeKick.Do(func() { close(a.kickQuit) })
		<-a.kickDone
	}
	return nil
}
