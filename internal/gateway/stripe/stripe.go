// Package stripe is Fulfill's Stripe gateway: PaymentIntents through
// Stripe's REST API (form-encoded, as Stripe expects) and webhooks verified
// with the Stripe-Signature scheme, using github.com/stripe/stripe-go.
package stripe

import (
	"context"
	"net/http"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
	stripego "github.com/stripe/stripe-go/v85"
)

// Name is the provider name used in URLs and stored events.
const Name = "stripe"

// DefaultAPIBase is Stripe's API.
const DefaultAPIBase = "https://api.stripe.com"

// DefaultTolerance is how old a webhook's signed timestamp may be.
const DefaultTolerance = 300 * time.Second

// Config configures the Stripe gateway. The wiring in cmd reads it from the
// environment variables named on each field.
type Config struct {
	// SecretKey is the API secret key (sk_…): FULFILL_STRIPE_SECRET_KEY.
	SecretKey string
	// APIBase overrides the API URL (tests, proxies):
	// FULFILL_STRIPE_API_BASE. Default DefaultAPIBase.
	APIBase string
	// WebhookSecrets are the endpoint signing secrets (whsec_…); during a
	// rotation both the old and the new one are listed, and a signature by
	// any of them is accepted: FULFILL_STRIPE_WEBHOOK_SECRETS
	// (comma-separated).
	WebhookSecrets []string
	// Tolerance is how far a signed timestamp may be from now. Default 300 s.
	Tolerance time.Duration
	// IgnoreAPIVersionMismatch accepts events rendered with an API version
	// other than the one stripe-go was built for (stripe.APIVersion).
	// Fulfill reads only long-stable fields, but the default is strict:
	// FULFILL_STRIPE_IGNORE_API_VERSION.
	IgnoreAPIVersionMismatch bool
	// HTTPClient sends API calls; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// Clock tells the time for the timestamp check; nil means the system
	// clock.
	Clock fulfill.Clock
}

// Gateway is the Stripe payment gateway.
type Gateway struct {
	cfg   Config
	api   *gwhttp.Client
	clock fulfill.Clock
}

var _ fulfill.Gateway = (*Gateway)(nil)

// New checks cfg and returns a Stripe gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.SecretKey == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_STRIPE_SECRET_KEY", "the Stripe secret key is required")
	}
	if len(cfg.WebhookSecrets) == 0 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_STRIPE_WEBHOOK_SECRETS", "at least one Stripe webhook secret is required")
	}
	for _, s := range cfg.WebhookSecrets {
		if s == "" {
			return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_STRIPE_WEBHOOK_SECRETS", "a Stripe webhook secret is empty")
		}
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	g := &Gateway{cfg: cfg, clock: cfg.Clock}
	if g.clock == nil {
		g.clock = fulfill.SystemClock{}
	}
	g.api = &gwhttp.Client{
		Provider:  Name,
		Base:      gwhttp.TrimBase(cfg.APIBase, DefaultAPIBase),
		HTTP:      gwhttp.HTTPClient(cfg.HTTPClient),
		Authorize: g.authorize,
		Classify:  classify,
	}
	return g, nil
}

// Name returns "stripe".
func (g *Gateway) Name() string { return Name }

func (g *Gateway) authorize(_ context.Context, r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+g.cfg.SecretKey)
	// Pin the version so that answers have the shape stripe-go was built for.
	r.Header.Set("Stripe-Version", stripego.APIVersion)
	return nil
}
