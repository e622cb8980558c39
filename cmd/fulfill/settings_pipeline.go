package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/gateway/paypal"
	"github.com/fulfill-dev/fulfill/internal/gateway/razorpay"
	"github.com/fulfill-dev/fulfill/internal/gateway/stripe"
)

// PipelineConfig is the checkout, payment and inventory part of Config.
type PipelineConfig struct {
	Gateways string

	SandboxWebhookSecret string
	SandboxWebhookURL    string
	SandboxAutoConfirmMS int

	StripeSecretKey        string
	StripeAPIBase          string
	StripeWebhookSecrets   string
	StripeIgnoreAPIVersion bool

	RazorpayKeyID          string
	RazorpayKeySecret      string
	RazorpayAPIBase        string
	RazorpayWebhookSecrets string

	PayPalClientID         string
	PayPalClientSecret     string
	PayPalAPIBase          string
	PayPalWebhookID        string
	PayPalCertHosts        string
	PayPalWebhookTolerance time.Duration
	PayPalVerifyOnline     bool
	PayPalReturnURL        string
	PayPalCancelURL        string

	OrderTTL         time.Duration
	IdempotencyTTL   time.Duration
	OutOfStockPolicy string
	HoldAtCheckout   bool
	HoldTTL          time.Duration
	PostalPrefixes   string
	DefaultWarehouse string

	QueuePollInterval time.Duration
	PaymentBatch      int
	PaymentBatchDelay time.Duration
	PipelineNice      int

	RedisURL           string
	CheckoutRatePerIP  int
	CheckoutRatePerKey int
	CheckoutRateWindow time.Duration
}

// knownGateways are the providers FULFILL_GATEWAYS may list.
var knownGateways = []string{"sandbox", "stripe", "razorpay", "paypal"}

// secretSettings are shown as "(set, hidden)" when the configuration is
// printed.
var secretSettings = map[string]bool{
	"FULFILL_SANDBOX_WEBHOOK_SECRET":   true,
	"FULFILL_STRIPE_SECRET_KEY":        true,
	"FULFILL_STRIPE_WEBHOOK_SECRETS":   true,
	"FULFILL_RAZORPAY_KEY_SECRET":      true,
	"FULFILL_RAZORPAY_WEBHOOK_SECRETS": true,
	"FULFILL_PAYPAL_CLIENT_SECRET":     true,
}

// pp returns an accessor's view of the pipeline settings.
func pp(c *Config) *PipelineConfig { return &c.Pipeline }

// pipelineSettings are the checkout, payment gateway and inventory
// settings.
func pipelineSettings() []setting {
	return append(append(gatewaySettings(), providerSettings()...), orderSettings()...)
}

func gatewaySettings() []setting {
	return []setting{
		{"gateways", "FULFILL_GATEWAYS", "sandbox", "payment gateways to enable, comma-separated: sandbox, stripe, razorpay, paypal",
			str(func(c *Config) *string { return &pp(c).Gateways })},
		{"sandbox-webhook-secret", "FULFILL_SANDBOX_WEBHOOK_SECRET", "", "secret the sandbox signs its webhooks with; empty: generated once and kept in <data>/sandbox-webhook-secret",
			str(func(c *Config) *string { return &pp(c).SandboxWebhookSecret })},
		{"sandbox-webhook-url", "FULFILL_SANDBOX_WEBHOOK_URL", "", "where the sandbox delivers its webhooks; empty: this server's own /webhooks/sandbox",
			str(func(c *Config) *string { return &pp(c).SandboxWebhookURL })},
		{"sandbox-auto-confirm-ms", "FULFILL_SANDBOX_AUTO_CONFIRM_MS", "0", "confirm every sandbox payment as paid this many ms after checkout; 0: only when asked",
			num(func(c *Config) *int { return &pp(c).SandboxAutoConfirmMS })},
	}
}

func providerSettings() []setting {
	return []setting{
		{"stripe-secret-key", "FULFILL_STRIPE_SECRET_KEY", "", "Stripe API secret key (sk_…)",
			str(func(c *Config) *string { return &pp(c).StripeSecretKey })},
		{"stripe-api-base", "FULFILL_STRIPE_API_BASE", stripe.DefaultAPIBase, "Stripe API base URL",
			str(func(c *Config) *string { return &pp(c).StripeAPIBase })},
		{"stripe-webhook-secrets", "FULFILL_STRIPE_WEBHOOK_SECRETS", "", "Stripe webhook signing secrets (whsec_…), comma-separated (old and new during a rotation)",
			str(func(c *Config) *string { return &pp(c).StripeWebhookSecrets })},
		{"stripe-ignore-api-version", "FULFILL_STRIPE_IGNORE_API_VERSION", "false", "accept Stripe events rendered with another API version",
			boolean(func(c *Config) *bool { return &pp(c).StripeIgnoreAPIVersion })},
		{"razorpay-key-id", "FULFILL_RAZORPAY_KEY_ID", "", "Razorpay API key id (rzp_…)",
			str(func(c *Config) *string { return &pp(c).RazorpayKeyID })},
		{"razorpay-key-secret", "FULFILL_RAZORPAY_KEY_SECRET", "", "Razorpay API key secret",
			str(func(c *Config) *string { return &pp(c).RazorpayKeySecret })},
		{"razorpay-api-base", "FULFILL_RAZORPAY_API_BASE", razorpay.DefaultAPIBase, "Razorpay API base URL",
			str(func(c *Config) *string { return &pp(c).RazorpayAPIBase })},
		{"razorpay-webhook-secrets", "FULFILL_RAZORPAY_WEBHOOK_SECRETS", "", "Razorpay webhook secrets, comma-separated (old and new during a rotation)",
			str(func(c *Config) *string { return &pp(c).RazorpayWebhookSecrets })},
		{"paypal-client-id", "FULFILL_PAYPAL_CLIENT_ID", "", "PayPal REST app client id",
			str(func(c *Config) *string { return &pp(c).PayPalClientID })},
		{"paypal-client-secret", "FULFILL_PAYPAL_CLIENT_SECRET", "", "PayPal REST app secret",
			str(func(c *Config) *string { return &pp(c).PayPalClientSecret })},
		{"paypal-api-base", "FULFILL_PAYPAL_API_BASE", paypal.DefaultAPIBase, "PayPal API base URL (https://api-m.sandbox.paypal.com for PayPal's sandbox)",
			str(func(c *Config) *string { return &pp(c).PayPalAPIBase })},
		{"paypal-webhook-id", "FULFILL_PAYPAL_WEBHOOK_ID", "", "id PayPal gave the webhook subscription (part of the signed message)",
			str(func(c *Config) *string { return &pp(c).PayPalWebhookID })},
		{"paypal-cert-hosts", "FULFILL_PAYPAL_CERT_HOSTS", strings.Join(paypal.DefaultCertHosts(), ","), "hosts a PAYPAL-CERT-URL may point at, comma-separated",
			str(func(c *Config) *string { return &pp(c).PayPalCertHosts })},
		{"paypal-webhook-tolerance", "FULFILL_PAYPAL_WEBHOOK_TOLERANCE", "5m0s", "how far PAYPAL-TRANSMISSION-TIME may be from now",
			dur(func(c *Config) *time.Duration { return &pp(c).PayPalWebhookTolerance })},
		{"paypal-verify-online", "FULFILL_PAYPAL_VERIFY_ONLINE", "false", "verify PayPal webhooks with PayPal's verify-webhook-signature API instead of locally",
			boolean(func(c *Config) *bool { return &pp(c).PayPalVerifyOnline })},
		{"paypal-return-url", "FULFILL_PAYPAL_RETURN_URL", "", "where PayPal sends the shopper after approving (optional)",
			str(func(c *Config) *string { return &pp(c).PayPalReturnURL })},
		{"paypal-cancel-url", "FULFILL_PAYPAL_CANCEL_URL", "", "where PayPal sends the shopper after cancelling (optional)",
			str(func(c *Config) *string { return &pp(c).PayPalCancelURL })},
	}
}

func orderSettings() []setting {
	return []setting{
		{"order-ttl", "FULFILL_ORDER_TTL", "30m0s", "how long an unpaid order waits for its payment before it expires",
			dur(func(c *Config) *time.Duration { return &pp(c).OrderTTL })},
		{"idempotency-ttl", "FULFILL_IDEMPOTENCY_TTL", "24h0m0s", "how long Idempotency-Keys are kept (at least 24h)",
			dur(func(c *Config) *time.Duration { return &pp(c).IdempotencyTTL })},
		{"out-of-stock-policy", "FULFILL_OUT_OF_STOCK_POLICY", "", "paid orders that get no stock (a product may override): backorder keeps them paid; void, refund or empty reverse the payment (void under manual capture, refund under automatic)",
			str(func(c *Config) *string { return &pp(c).OutOfStockPolicy })},
		{"hold-at-checkout", "FULFILL_HOLD_AT_CHECKOUT", "false", "place a soft hold on stock at checkout",
			boolean(func(c *Config) *bool { return &pp(c).HoldAtCheckout })},
		{"hold-ttl", "FULFILL_HOLD_TTL", "10m0s", "how long a checkout hold keeps stock",
			dur(func(c *Config) *time.Duration { return &pp(c).HoldTTL })},
		{"postal-prefixes", "FULFILL_POSTAL_PREFIXES", "", "CSV file of prefix,lat,lon locating customers without coordinates by postal code",
			str(func(c *Config) *string { return &pp(c).PostalPrefixes })},
		{"default-warehouse", "FULFILL_DEFAULT_WAREHOUSE", "", "warehouse code serving customers that can't be located",
			str(func(c *Config) *string { return &pp(c).DefaultWarehouse })},
		{"queue-poll-interval", "FULFILL_QUEUE_POLL_INTERVAL", "100ms", "how often idle workers look for new jobs (jobs committed by this process on PostgreSQL are noticed at once)",
			dur(func(c *Config) *time.Duration { return &pp(c).QueuePollInterval })},
		{"payment-batch", "FULFILL_PAYMENT_BATCH", "500", "most webhook events the payment stage applies in one transaction (smaller: shorter write locks, more commits)",
			num(func(c *Config) *int { return &pp(c).PaymentBatch })},
		{"payment-batch-delay", "FULFILL_PAYMENT_BATCH_DELAY", app.DefaultPaymentBatchDelay.String(), "how long the payment stage lets webhook events gather before it applies them in one transaction (longer: fewer, cheaper transactions; events applied later); 0: at once",
			dur(func(c *Config) *time.Duration { return &pp(c).PaymentBatchDelay })},
		{"pipeline-nice", "FULFILL_PIPELINE_NICE", "0", "Linux: the nice value (0–19) of the thread running the payment stage, so that acknowledging webhooks gets the CPU first; 0: the same priority (a higher value slows checkouts that wait for a payment transaction on SQLite's writer)",
			num(func(c *Config) *int { return &pp(c).PipelineNice })},
		{"redis-url", "FULFILL_REDIS_URL", "", "redis://… shares the checkout rate limit between processes; empty: in memory",
			str(func(c *Config) *string { return &pp(c).RedisURL })},
		{"checkout-rate-per-ip", "FULFILL_CHECKOUT_RATE_PER_IP", "100", "checkouts per window from one client IP; -1: no limit",
			num(func(c *Config) *int { return &pp(c).CheckoutRatePerIP })},
		{"checkout-rate-per-key", "FULFILL_CHECKOUT_RATE_PER_KEY", "1000", "checkouts per window with one API key; -1: no limit",
			num(func(c *Config) *int { return &pp(c).CheckoutRatePerKey })},
		{"checkout-rate-window", "FULFILL_CHECKOUT_RATE_WINDOW", "1s", "window of the checkout rate limits (at least 1s)",
			dur(func(c *Config) *time.Duration { return &pp(c).CheckoutRateWindow })},
	}
}

func boolean(field func(*Config) *bool) accessors {
	set := func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
	return accessors{set, func(c *Config) string { return strconv.FormatBool(*field(c)) }}
}

// GatewayNames returns the enabled gateways, lower-cased, without
// duplicates.
func (p *PipelineConfig) GatewayNames() []string {
	var names []string
	for _, n := range splitList(p.Gateways) {
		n = strings.ToLower(n)
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// validate checks the pipeline settings; provider credentials are checked
// by each gateway's constructor at start.
func (p *PipelineConfig) validate(bad func(name, format string, args ...any)) {
	for _, n := range p.GatewayNames() {
		if !slices.Contains(knownGateways, n) {
			bad("gateways", "%q is not one of %s", n, strings.Join(knownGateways, ", "))
		}
	}
	if p.SandboxWebhookURL != "" {
		if u, err := url.Parse(p.SandboxWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("sandbox-webhook-url", "%q is not an absolute http(s) URL", p.SandboxWebhookURL)
		}
	}
	if p.SandboxAutoConfirmMS < 0 {
		bad("sandbox-auto-confirm-ms", "%d must not be negative", p.SandboxAutoConfirmMS)
	}
	p.OutOfStockPolicy = strings.ToLower(p.OutOfStockPolicy)
	if p.OutOfStockPolicy != "" && !fulfill.OutOfStockPolicy(p.OutOfStockPolicy).Valid() {
		bad("out-of-stock-policy", "%q is not void, refund or backorder", p.OutOfStockPolicy)
	}
	for name, d := range map[string]time.Duration{"order-ttl": p.OrderTTL, "hold-ttl": p.HoldTTL, "paypal-webhook-tolerance": p.PayPalWebhookTolerance} {
		if d <= 0 {
			bad(name, "%s must be positive", d)
		}
	}
	if p.IdempotencyTTL < 24*time.Hour {
		bad("idempotency-ttl", "%s is below 24h, the API's guarantee", p.IdempotencyTTL)
	}
	if p.QueuePollInterval < 10*time.Millisecond || p.QueuePollInterval > time.Minute {
		bad("queue-poll-interval", "%s is not between 10ms and 1m", p.QueuePollInterval)
	}
	if p.PaymentBatch < 1 || p.PaymentBatch > 10000 {
		bad("payment-batch", "%d is not between 1 and 10000", p.PaymentBatch)
	}
	if p.PipelineNice < 0 || p.PipelineNice > 19 {
		bad("pipeline-nice", "%d is not between 0 and 19", p.PipelineNice)
	}
	if p.PaymentBatchDelay < 0 || p.PaymentBatchDelay > 10*time.Second {
		bad("payment-batch-delay", "%s is not between 0 and 10s", p.PaymentBatchDelay)
	}
	if p.CheckoutRateWindow < time.Second {
		bad("checkout-rate-window", "%s is below 1s", p.CheckoutRateWindow)
	}
	if p.CheckoutRatePerIP == 0 || p.CheckoutRatePerIP < -1 {
		bad("checkout-rate-per-ip", "%d must be positive, or -1 for no limit", p.CheckoutRatePerIP)
	}
	if p.CheckoutRatePerKey == 0 || p.CheckoutRatePerKey < -1 {
		bad("checkout-rate-per-key", "%d must be positive, or -1 for no limit", p.CheckoutRatePerKey)
	}
	if p.RedisURL != "" && !strings.HasPrefix(p.RedisURL, "redis://") && !strings.HasPrefix(p.RedisURL, "rediss://") {
		bad("redis-url", "the scheme must be redis:// or rediss://")
	}
}
