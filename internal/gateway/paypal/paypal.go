// Package paypal is Fulfill's PayPal gateway: the Orders v2 API with an
// OAuth2 client-credentials token (cached until it expires) and webhooks
// verified offline (SHA256withRSA over
// transmission_id|transmission_time|webhook_id|crc32(body) with PayPal's
// certificate, fetched only from allow-listed hosts and cached) or, when
// configured, through PayPal's verify-webhook-signature API.
package paypal

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// Name is the provider name used in URLs and stored events.
const Name = "paypal"

// DefaultAPIBase is PayPal's live API.
const DefaultAPIBase = "https://api-m.paypal.com"

// DefaultTolerance is how far PAYPAL-TRANSMISSION-TIME may be from now.
const DefaultTolerance = 300 * time.Second

// DefaultCertHosts are the hosts PayPal serves its webhook certificates from.
func DefaultCertHosts() []string {
	return []string{"api.paypal.com", "api.sandbox.paypal.com", "api-m.paypal.com", "api-m.sandbox.paypal.com"}
}

// Config configures the PayPal gateway. The wiring in cmd reads it from the
// environment variables named on each field.
type Config struct {
	// ClientID is the REST app's client id: FULFILL_PAYPAL_CLIENT_ID.
	ClientID string
	// ClientSecret is the REST app's secret: FULFILL_PAYPAL_CLIENT_SECRET.
	ClientSecret string
	// APIBase overrides the API URL (https://api-m.sandbox.paypal.com for
	// the sandbox): FULFILL_PAYPAL_API_BASE. Default DefaultAPIBase.
	APIBase string
	// WebhookID is the id PayPal gave the webhook subscription; it is part
	// of the signed message: FULFILL_PAYPAL_WEBHOOK_ID.
	WebhookID string
	// CertHosts are the hosts a PAYPAL-CERT-URL may point at:
	// FULFILL_PAYPAL_CERT_HOSTS (comma-separated). Default DefaultCertHosts.
	CertHosts []string
	// Tolerance is how far PAYPAL-TRANSMISSION-TIME may be from now:
	// FULFILL_PAYPAL_WEBHOOK_TOLERANCE. Default 300 s.
	Tolerance time.Duration
	// VerifyOnline asks PayPal (POST /v1/notifications/verify-webhook-signature)
	// instead of checking the signature locally: FULFILL_PAYPAL_VERIFY_ONLINE.
	VerifyOnline bool
	// ReturnURL and CancelURL are where PayPal sends the shopper after
	// approving or cancelling: FULFILL_PAYPAL_RETURN_URL,
	// FULFILL_PAYPAL_CANCEL_URL. Optional.
	ReturnURL, CancelURL string
	// HTTPClient sends API calls and fetches certificates; nil means a
	// client with a 15 s timeout.
	HTTPClient *http.Client
	// Clock tells the time for the freshness and token-expiry checks; nil
	// means the system clock.
	Clock fulfill.Clock
}

// Gateway is the PayPal payment gateway. Its intent is a PayPal order.
type Gateway struct {
	cfg   Config
	clock fulfill.Clock
	api   *gwhttp.Client
	oauth *gwhttp.Client
	hosts map[string]bool

	tokenMu sync.Mutex
	token   string
	expires time.Time

	certMu sync.Mutex
	certs  map[string]*x509.Certificate
}

var _ fulfill.Gateway = (*Gateway)(nil)

// New checks cfg and returns a PayPal gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_PAYPAL_CLIENT_ID", "the PayPal client id and secret are required")
	}
	if cfg.WebhookID == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "FULFILL_PAYPAL_WEBHOOK_ID", "the PayPal webhook id is required")
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if len(cfg.CertHosts) == 0 {
		cfg.CertHosts = DefaultCertHosts()
	}
	g := &Gateway{cfg: cfg, clock: cfg.Clock, hosts: map[string]bool{}, certs: map[string]*x509.Certificate{}}
	if g.clock == nil {
		g.clock = fulfill.SystemClock{}
	}
	for _, h := range cfg.CertHosts {
		g.hosts[strings.ToLower(strings.TrimSpace(h))] = true
	}
	base, client := gwhttp.TrimBase(cfg.APIBase, DefaultAPIBase), gwhttp.HTTPClient(cfg.HTTPClient)
	g.cfg.HTTPClient = client
	g.api = &gwhttp.Client{Provider: Name, Base: base, HTTP: client, Authorize: g.bearer, Classify: g.classifyAPI}
	g.oauth = &gwhttp.Client{Provider: Name, Base: base, HTTP: client, Authorize: g.basic, Classify: classify}
	return g, nil
}

// Name returns "paypal".
func (g *Gateway) Name() string { return Name }

func (g *Gateway) basic(_ context.Context, r *http.Request) error {
	r.SetBasicAuth(g.cfg.ClientID, g.cfg.ClientSecret)
	return nil
}

func (g *Gateway) bearer(ctx context.Context, r *http.Request) error {
	tok, err := g.accessToken(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// accessToken returns the cached token, fetching a new one a minute before
// the old one expires.
func (g *Gateway) accessToken(ctx context.Context) (string, error) {
	g.tokenMu.Lock()
	defer g.tokenMu.Unlock()
	now := g.clock.Now()
	if g.token != "" && now.Before(g.expires) {
		return g.token, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	err := g.oauth.Do(ctx, gwhttp.Request{Method: http.MethodPost, Path: "/v1/oauth2/token",
		Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded"}, &out)
	if err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", fulfill.Errorf(fulfill.EUnavailable, "paypal returned no access token")
	}
	g.token, g.expires = out.AccessToken, now.Add(time.Duration(out.ExpiresIn)*time.Second-time.Minute)
	return g.token, nil
}

// dropToken forgets the token after PayPal refused it, so that the next
// call fetches a new one.
func (g *Gateway) dropToken() {
	g.tokenMu.Lock()
	g.token = ""
	g.tokenMu.Unlock()
}
