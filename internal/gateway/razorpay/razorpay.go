// Package razorpay is Fulfill's Razorpay gateway: Razorpay orders and
// payments through its REST API (basic auth with the key id and secret) and
// webhooks verified with X-Razorpay-Signature, a hex HMAC-SHA256 of the raw
// body. The signature is checked here with hmac.Equal: the SDK's check is
// not constant-time.
package razorpay

import (
	"context"
	"net/http"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// Name is the provider name used in URLs and stored events.
const Name = "razorpay"

// DefaultAPIBase is Razorpay's API.
const DefaultAPIBase = "https://api.razorpay.com"

// Config configures the Razorpay gateway. The wiring in cmd reads it from
// the environment variables named on each field.
type Config struct {
	// KeyID is the API key id (rzp_live_…): FULFILL_RAZORPAY_KEY_ID.
	KeyID string
	// KeySecret is the API key secret: FULFILL_RAZORPAY_KEY_SECRET.
	KeySecret string
	// APIBase overrides the API URL: FULFILL_RAZORPAY_API_BASE. Default
	// DefaultAPIBase.
	APIBase string
	// WebhookSecrets are the webhook secrets; during a rotation both the old
	// and the new one are listed: FULFILL_RAZORPAY_WEBHOOK_SECRETS
	// (comma-separated).
	WebhookSecrets []string
	// HTTPClient sends API calls; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
}

// Gateway is the Razorpay payment gateway. Its intent is a Razorpay order;
// the payments made against that order are found through the order.
type Gateway struct {
	cfg Config
	api *gwhttp.Client
}

var _ fulfill.Gateway = (*Gateway)(nil)

// New checks cfg and returns a Razorpay gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.KeyID == "" || cfg.KeySecret == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_RAZORPAY_KEY_ID", "the Razorpay key id and key secret are required")
	}
	if len(cfg.WebhookSecrets) == 0 {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_RAZORPAY_WEBHOOK_SECRETS", "at least one Razorpay webhook secret is required")
	}
	for _, s := range cfg.WebhookSecrets {
		if s == "" {
			return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_RAZORPAY_WEBHOOK_SECRETS", "a Razorpay webhook secret is empty")
		}
	}
	g := &Gateway{cfg: cfg}
	g.api = &gwhttp.Client{
		Provider:  Name,
		Base:      gwhttp.TrimBase(cfg.APIBase, DefaultAPIBase),
		HTTP:      gwhttp.HTTPClient(cfg.HTTPClient),
		Authorize: g.authorize,
		Classify:  classify,
	}
	return g, nil
}

// Name returns "razorpay".
func (g *Gateway) Name() string { return Name }

func (g *Gateway) authorize(_ context.Context, r *http.Request) error {
	r.SetBasicAuth(g.cfg.KeyID, g.cfg.KeySecret)
	return nil
}
