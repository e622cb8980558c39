// Package sandbox is Fulfill's built-in payment gateway. Its intents live
// in Fulfill's own database; a "confirm" call plays the shopper paying on
// the gateway's page, and the sandbox then calls the configured webhook URL
// over real HTTP with an event in Stripe's JSON shape, signed with Stripe's
// scheme (Stripe-Signature: t=…,v1=…) and the sandbox's own secret. The
// delivery is a durable job, retried with backoff on a non-2xx answer, as
// a real gateway does. Knobs for demos and tests delay, duplicate, reorder
// and fail deliveries, and can confirm intents automatically: a sweeper
// (RunAutoConfirm) confirms the due intents in batches, each batch's
// deliveries one job.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// Name is the provider name used in URLs and stored events.
const Name = "sandbox"

// Defaults of Config.
const (
	// DefaultTolerance is how old a webhook's signed timestamp may be.
	DefaultTolerance = 300 * time.Second
	// DefaultDeliveryTimeout bounds one webhook delivery.
	DefaultDeliveryTimeout = 10 * time.Second
	// DefaultDeliveryAttempts is how many times a delivery is tried before
	// its job is dead (about 68 minutes of backoff with 1 s doubling).
	DefaultDeliveryAttempts = 13
)

// Intent statuses of the sandbox, Stripe's words where Stripe has one.
const (
	StatusRequiresPayment = "requires_payment"
	StatusAuthorized      = "authorized" // manual capture: paid, not captured
	StatusSucceeded       = "succeeded"  // captured
	StatusFailed          = "failed"     // declined
	StatusCanceled        = "canceled"   // voided
	StatusRefunded        = "refunded"   // fully refunded
)

// Config configures the sandbox gateway. The wiring in cmd reads it from
// the environment variables named on each field.
type Config struct {
	// WebhookSecret signs the sandbox's webhooks and verifies them on
	// receipt: FULFILL_SANDBOX_WEBHOOK_SECRET. Required.
	WebhookSecret string
	// WebhookURL is where events are delivered: FULFILL_SANDBOX_WEBHOOK_URL
	// (default in cmd: this process's own /webhooks/sandbox). Required.
	WebhookURL string
	// AutoConfirmAfter, when positive, confirms every new intent as paid
	// after this long, with no confirm call: FULFILL_SANDBOX_AUTO_CONFIRM_MS.
	// The intent records when it is due; RunAutoConfirm, on a process that
	// works jobs, confirms the due ones in batches.
	AutoConfirmAfter time.Duration
	// Tolerance is how far a signed timestamp may be from now (default
	// 300 s).
	Tolerance time.Duration
	// DeliveryAttempts is how many times one delivery is tried before its
	// job is dead (default 13).
	DeliveryAttempts int
	// HTTPClient delivers webhooks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Clock tells the time; nil means the system clock.
	Clock fulfill.Clock
}

// Gateway is the sandbox payment gateway.
type Gateway struct {
	cfg   Config
	store fulfill.Store
	http  *http.Client
	clock fulfill.Clock
}

var _ fulfill.InTxGateway = (*Gateway)(nil)

// New checks cfg and returns a sandbox gateway keeping its intents in
// store.
func New(cfg Config, store fulfill.Store) (*Gateway, error) {
	if cfg.WebhookSecret == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_SANDBOX_WEBHOOK_SECRET", "the sandbox webhook secret is required")
	}
	if u, err := url.Parse(cfg.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_SANDBOX_WEBHOOK_URL", "the sandbox webhook URL must be an absolute http(s) URL")
	}
	if cfg.AutoConfirmAfter < 0 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_SANDBOX_AUTO_CONFIRM_MS", "auto-confirm delay must not be negative")
	}
	if store == nil {
		return nil, fulfill.Errorf(fulfill.EInvalid, "the sandbox gateway needs a store")
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.DeliveryAttempts <= 0 {
		cfg.DeliveryAttempts = DefaultDeliveryAttempts
	}
	g := &Gateway{cfg: cfg, store: store, http: cfg.HTTPClient, clock: cfg.Clock}
	if g.http == nil {
		g.http = &http.Client{Timeout: DefaultDeliveryTimeout}
	}
	if g.clock == nil {
		g.clock = fulfill.SystemClock{}
	}
	return g, nil
}

// Name returns "sandbox".
func (g *Gateway) Name() string { return Name }

// WebhookURL is where the sandbox delivers its events.
func (g *Gateway) WebhookURL() string { return g.cfg.WebhookURL }

// CreateIntent stores a new intent (status requires_payment), due for
// automatic confirmation (RunAutoConfirm) AutoConfirmAfter from now when
// that is set. EInvalid for a bad request.
func (g *Gateway) CreateIntent(ctx context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	var in *fulfill.Intent
	// Intents of concurrent calls share a commit where the store can.
	err := fulfill.UpdateShared(ctx, g.store, func(tx fulfill.Tx) (err error) {
		in, err = g.CreateIntentTx(ctx, tx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// CreateIntentTx is CreateIntent in the caller's transaction (checkout's:
// see fulfill.InTxGateway).
func (g *Gateway) CreateIntentTx(ctx context.Context, tx fulfill.Tx, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	capture, err := gwhttp.CheckIntentRequest(req)
	if err != nil {
		return nil, err
	}
	now := g.clock.Now()
	si := &fulfill.SandboxIntent{
		ID: fulfill.NewID("pi_sbx", now), OrderID: req.OrderID, Amount: req.Amount, Capture: capture,
		Email: req.Email, Status: StatusRequiresPayment, CreatedAt: now, UpdatedAt: now,
	}
	if g.cfg.AutoConfirmAfter > 0 {
		due := now.Add(g.cfg.AutoConfirmAfter)
		si.AutoConfirmAt = &due
	}
	if err := tx.CreateSandboxIntent(ctx, si); err != nil {
		return nil, err
	}
	return &fulfill.Intent{Provider: Name, ID: si.ID, ClientSecret: si.ID + "_secret_" + randomHex(12), Status: si.Status}, nil
}

// Capture takes an authorized (manual-capture) intent for at most its
// amount and delivers payment_intent.succeeded. ENotFound; EConflict when
// it is not authorized; EInvalid for a bad amount.
func (g *Gateway) Capture(ctx context.Context, intentID string, amount fulfill.Money) error {
	return g.change(ctx, intentID, func(si *fulfill.SandboxIntent) (*event, error) {
		if si.Status != StatusAuthorized {
			return nil, conflict(si, "captured")
		}
		if err := checkAmount(si, amount, si.Amount.Amount); err != nil {
			return nil, err
		}
		si.Status = StatusSucceeded
		return g.intentEvent(si, "payment_intent.succeeded"), nil
	})
}

// Void cancels an intent that is not captured and delivers
// payment_intent.canceled. ENotFound; EConflict once captured, failed or
// canceled.
func (g *Gateway) Void(ctx context.Context, intentID string) error {
	return g.change(ctx, intentID, func(si *fulfill.SandboxIntent) (*event, error) {
		if si.Status != StatusAuthorized && si.Status != StatusRequiresPayment {
			return nil, conflict(si, "voided")
		}
		si.Status = StatusCanceled
		return g.intentEvent(si, "payment_intent.canceled"), nil
	})
}

// Refund returns up to the captured amount not yet refunded and delivers
// charge.refunded; the intent is refunded once nothing is left. ENotFound;
// EConflict when it is not captured; EInvalid for an amount beyond what
// is left.
func (g *Gateway) Refund(ctx context.Context, intentID string, amount fulfill.Money, _ string) (string, error) {
	refundID := fulfill.NewID("re_sbx", g.clock.Now())
	err := g.change(ctx, intentID, func(si *fulfill.SandboxIntent) (*event, error) {
		if si.Status != StatusSucceeded {
			return nil, conflict(si, "refunded")
		}
		if err := checkAmount(si, amount, si.Amount.Amount-si.Refunded); err != nil {
			return nil, err
		}
		si.Refunded += amount.Amount
		if si.Refunded == si.Amount.Amount {
			si.Status = StatusRefunded
		}
		return g.chargeRefunded(si), nil
	})
	if err != nil {
		return "", err
	}
	return refundID, nil
}

// change applies fn to the intent under a guarded update (on the status it
// was loaded with) and queues the event fn returns, in one transaction.
func (g *Gateway) change(ctx context.Context, intentID string, fn func(*fulfill.SandboxIntent) (*event, error)) error {
	return g.store.Update(ctx, func(tx fulfill.Tx) error {
		si, err := tx.GetSandboxIntent(ctx, intentID)
		if err != nil {
			return err
		}
		was := si.Status
		ev, err := fn(si)
		if err != nil {
			return err
		}
		si.UpdatedAt = g.clock.Now()
		if err := tx.UpdateSandboxIntent(ctx, si, was); err != nil {
			return err
		}
		return g.enqueue(ctx, tx, g.delivery(ev, 0), time.Time{})
	})
}

func conflict(si *fulfill.SandboxIntent, what string) error {
	return fulfill.Errorf(fulfill.EConflict, "sandbox intent %s is %s and cannot be %s", si.ID, si.Status, what)
}

// checkAmount accepts a positive amount in the intent's currency up to
// most.
func checkAmount(si *fulfill.SandboxIntent, m fulfill.Money, most int64) error {
	if err := m.Validate("amount"); err != nil {
		return err
	}
	if m.Currency != si.Amount.Currency || m.Amount <= 0 || m.Amount > most {
		return fulfill.FieldErrorf(fulfill.EInvalid, "amount", "amount must be between 1 and %d %s", most, si.Amount.Currency)
	}
	return nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
