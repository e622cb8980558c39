// Package httpapi is Fulfill's HTTP API: the routes (routes.go), the error
// model (error.go), authentication by API key, request logs, Prometheus
// metrics and the OpenAPI document.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// DefaultMaxBodyBytes limits JSON request bodies when Config leaves it 0.
const DefaultMaxBodyBytes = 1 << 20

// maxImportBytes limits CSV import bodies, which are larger than JSON ones.
const maxImportBytes = 64 << 20

// Config configures the HTTP API.
type Config struct {
	App   *app.App
	Store fulfill.Store
	// Logger receives request logs and internal errors (default slog.Default()).
	Logger *slog.Logger
	// MaxBodyBytes limits JSON bodies (default 1 MiB).
	MaxBodyBytes int64
	// Version is shown at GET /.
	Version string
	// CheckoutRate limits POST /v1/checkout per client IP and per API key.
	CheckoutRate RateLimit
	// Redis, when set, shares the rate-limit counters between processes
	// (FULFILL_REDIS_URL); otherwise they are in memory.
	Redis redis.UniversalClient
}

// server is the state the handlers share.
type server struct {
	app     *app.App
	store   fulfill.Store
	log     *slog.Logger
	maxBody int64
	version string
	metrics *metrics
	// limitIP and limitKey rate-limit checkout (nil when off).
	limitIP  func(http.Handler) http.Handler
	limitKey func(http.Handler) http.Handler
}

// New returns the HTTP handler of the whole API.
func New(cfg Config) http.Handler {
	s := &server{
		app: cfg.App, store: cfg.Store, log: cfg.Logger,
		maxBody: cfg.MaxBodyBytes, version: cfg.Version, metrics: newMetrics(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.limitIP, s.limitKey = s.checkoutLimiters(cfg.CheckoutRate, cfg.Redis)
	return s.routes()
}
