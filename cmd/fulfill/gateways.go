package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/gateway/paypal"
	"github.com/fulfill-dev/fulfill/internal/gateway/razorpay"
	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
	"github.com/fulfill-dev/fulfill/internal/gateway/stripe"
)

// sandboxSecretFile keeps the generated sandbox webhook secret in the data
// folder, so that restarts (and other processes on this machine) keep it.
const sandboxSecretFile = "sandbox-webhook-secret"

// gatewaySet is the configured payment gateways.
type gatewaySet struct {
	all map[string]fulfill.Gateway
	// sandbox is nil when the sandbox is not enabled.
	sandbox *sandbox.Gateway
}

// buildGateways builds every gateway FULFILL_GATEWAYS enables; addr is this
// server's listen address (the sandbox's default webhook target).
func buildGateways(cfg *Config, st fulfill.Store, addr net.Addr) (*gatewaySet, error) {
	gs := &gatewaySet{all: map[string]fulfill.Gateway{}}
	p := &cfg.Pipeline
	for _, name := range p.GatewayNames() {
		var gw fulfill.Gateway
		var err error
		switch name {
		case sandbox.Name:
			gs.sandbox, err = newSandbox(cfg, st, addr)
			gw = gs.sandbox
		case stripe.Name:
			gw, err = stripe.New(stripe.Config{
				SecretKey: p.StripeSecretKey, APIBase: p.StripeAPIBase, WebhookSecrets: splitList(p.StripeWebhookSecrets),
				IgnoreAPIVersionMismatch: p.StripeIgnoreAPIVersion,
			})
		case razorpay.Name:
			gw, err = razorpay.New(razorpay.Config{
				KeyID: p.RazorpayKeyID, KeySecret: p.RazorpayKeySecret, APIBase: p.RazorpayAPIBase,
				WebhookSecrets: splitList(p.RazorpayWebhookSecrets),
			})
		case paypal.Name:
			gw, err = paypal.New(paypal.Config{
				ClientID: p.PayPalClientID, ClientSecret: p.PayPalClientSecret, APIBase: p.PayPalAPIBase,
				WebhookID: p.PayPalWebhookID, CertHosts: splitList(p.PayPalCertHosts), Tolerance: p.PayPalWebhookTolerance,
				VerifyOnline: p.PayPalVerifyOnline, ReturnURL: p.PayPalReturnURL, CancelURL: p.PayPalCancelURL,
			})
		}
		if err != nil {
			return nil, usagef("gateway %s: %v", name, err)
		}
		gs.all[name] = gw
	}
	return gs, nil
}

// newSandbox builds the sandbox gateway with its secret and webhook URL.
func newSandbox(cfg *Config, st fulfill.Store, addr net.Addr) (*sandbox.Gateway, error) {
	secret, err := sandboxSecret(cfg)
	if err != nil {
		return nil, err
	}
	target := cfg.Pipeline.SandboxWebhookURL
	if target == "" {
		target = ownURL(addr) + "/webhooks/sandbox"
	}
	return sandbox.New(sandbox.Config{
		WebhookSecret: secret, WebhookURL: target,
		AutoConfirmAfter: time.Duration(cfg.Pipeline.SandboxAutoConfirmMS) * time.Millisecond,
	}, st)
}

// ownURL is the base URL this process can reach itself at.
func ownURL(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && (tcp.IP.IsUnspecified() || tcp.IP == nil) {
		return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
	}
	return "http://" + addr.String()
}

// sandboxSecret is the configured sandbox webhook secret, else the one kept
// in the data folder, created on first use.
func sandboxSecret(cfg *Config) (string, error) {
	if s := cfg.Pipeline.SandboxWebhookSecret; s != "" {
		return s, nil
	}
	if cfg.DataDir == "" {
		return "", errors.New("set FULFILL_SANDBOX_WEBHOOK_SECRET or a data folder to keep a generated one in")
	}
	path := filepath.Join(cfg.DataDir, sandboxSecretFile)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the sandbox webhook secret: %w", err)
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	secret := "whsec_sbx_" + hex.EncodeToString(b)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", fmt.Errorf("create the data folder: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the sandbox webhook secret: %w", err)
	}
	return secret, nil
}

// appOptions turns the configuration into the App's options.
func appOptions(cfg *Config, gs *gatewaySet, log *slog.Logger) (app.Options, error) {
	p := &cfg.Pipeline
	prefixes, err := loadPostalPrefixes(p.PostalPrefixes)
	if err != nil {
		return app.Options{}, usagef("postal-prefixes: %v", err)
	}
	o := app.Options{
		Clock: fulfill.SystemClock{}, Logger: log, Gateways: gs.all,
		OrderTTL: p.OrderTTL, IdempotencyTTL: p.IdempotencyTTL, DefaultPolicy: fulfill.OutOfStockPolicy(p.OutOfStockPolicy),
		HoldAtCheckout: p.HoldAtCheckout, HoldTTL: p.HoldTTL, PostalPrefixes: prefixes, DefaultWarehouse: p.DefaultWarehouse,
		PaymentBatch: p.PaymentBatch, PaymentBatchDelay: p.PaymentBatchDelay, Background: backgroundAt(p.PipelineNice),
	}
	if gs.sandbox != nil {
		o.Sandbox = gs.sandbox
	}
	return o, nil
}

// loadPostalPrefixes reads a prefix,lat,lon CSV file (a header row is
// allowed); an empty path means none.
func loadPostalPrefixes(path string) (map[string]fulfill.GeoPoint, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 3
	out := map[string]fulfill.GeoPoint{}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		lon, err2 := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		switch {
		case (err1 != nil || err2 != nil) && line == 1:
			continue // the header
		case err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180:
			return nil, fmt.Errorf("%s line %d: latitude and longitude must be decimal degrees", path, line)
		}
		out[strings.TrimSpace(rec[0])] = fulfill.GeoPoint{Lat: lat, Lon: lon}
	}
}

// openRedis connects to FULFILL_REDIS_URL (nil when unset). A Redis that
// does not answer yet is logged, not fatal: the rate limit fails open.
func openRedis(ctx context.Context, raw string, log *slog.Logger) (*redis.Client, error) {
	if raw == "" {
		return nil, nil
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, usagef("redis-url: %v", err)
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		log.Warn("redis does not answer yet; the checkout rate limit fails open until it does", "redis", maskURL(raw), "err", err)
	}
	return c, nil
}
