package httpapi

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/httprate"
	"github.com/redis/go-redis/v9"

	"github.com/fulfill-dev/fulfill"
)

// Default checkout rate limits.
const (
	DefaultCheckoutPerIP  = 100
	DefaultCheckoutPerKey = 1000
	DefaultRateWindow     = time.Second
)

// RateLimit bounds requests per window. Zero fields take the defaults; a
// negative limit switches that limit off.
type RateLimit struct {
	// PerIP is the most requests per Window from one client IP (IPv6 by
	// its /64) (default 100).
	PerIP int
	// PerKey is the most requests per Window with one API key (default
	// 1000).
	PerKey int
	// Window is the sliding window (default 1s; at least 1s, so that
	// Retry-After is a whole number of seconds).
	Window time.Duration
}

// withDefaults fills zero fields.
func (rl RateLimit) withDefaults() RateLimit {
	if rl.PerIP == 0 {
		rl.PerIP = DefaultCheckoutPerIP
	}
	if rl.PerKey == 0 {
		rl.PerKey = DefaultCheckoutPerKey
	}
	if rl.Window < time.Second {
		rl.Window = DefaultRateWindow
	}
	return rl
}

// passThrough is the middleware of a limit that is off.
func passThrough(next http.Handler) http.Handler { return next }

// checkoutLimiters builds the per-IP and per-key limiters of checkout, on
// Redis when rdb is set.
func (s *server) checkoutLimiters(rl RateLimit, rdb redis.UniversalClient) (ip, key func(http.Handler) http.Handler) {
	rl = rl.withDefaults()
	build := func(limit int, name string, keyFn httprate.KeyFunc) func(http.Handler) http.Handler {
		if limit < 0 {
			return passThrough
		}
		opts := []httprate.Option{httprate.WithKeyFuncs(keyFn), httprate.WithLimitHandler(s.rateLimited)}
		if rdb != nil {
			opts = append(opts, httprate.WithLimitCounter(&failOpen{
				LimitCounter: NewRedisLimitCounter(rdb, "fulfill:ratelimit:checkout:"+name), s: s,
			}))
		}
		return httprate.NewRateLimiter(limit, rl.Window, opts...).Handler
	}
	return build(rl.PerIP, "ip", clientIP), build(rl.PerKey, "key", keyID)
}

// clientIP is the peer's address (IPv6 by its /64). Fulfill does not trust
// X-Forwarded-For: behind a proxy, limit at the proxy.
func clientIP(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}

// keyID is the authenticated API key's id.
func keyID(r *http.Request) (string, error) {
	if k := apiKey(r.Context()); k != nil {
		return k.ID, nil
	}
	return "anonymous", nil
}

// rateLimited answers 429; httprate has set Retry-After.
func (s *server) rateLimited(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, fulfill.Errorf(fulfill.ERateLimited, "too many requests; retry after %s seconds", w.Header().Get("Retry-After")))
}

// failOpen lets requests through when the shared counter fails (Redis
// down): checkout stays up, and the failure is logged.
type failOpen struct {
	httprate.LimitCounter
	s *server
}

// IncrementBy counts, logging a failure.
func (f *failOpen) IncrementBy(key string, window time.Time, n int) error {
	if err := f.LimitCounter.IncrementBy(key, window, n); err != nil {
		f.s.log.Warn("rate limit counter", "err", err)
	}
	return nil
}

// Increment counts one, logging a failure.
func (f *failOpen) Increment(key string, window time.Time) error {
	return f.IncrementBy(key, window, 1)
}

// Get reads, counting nothing on a failure.
func (f *failOpen) Get(key string, cur, prev time.Time) (int, int, error) {
	c, p, err := f.LimitCounter.Get(key, cur, prev)
	if err != nil {
		f.s.log.Warn("rate limit counter", "err", err)
		return 0, 0, nil
	}
	return c, p, nil
}

// RedisLimitCounter is an httprate.LimitCounter shared by every process
// through Redis: one counter key per limit key and window, incremented
// with INCRBY and given an expiry of two windows in one pipeline.
type RedisLimitCounter struct {
	rdb    redis.UniversalClient
	prefix string
	window time.Duration
	// Timeout bounds each Redis round trip (default 100ms).
	Timeout time.Duration
}

var _ httprate.LimitCounter = (*RedisLimitCounter)(nil)

// NewRedisLimitCounter returns a counter whose keys start with prefix.
func NewRedisLimitCounter(rdb redis.UniversalClient, prefix string) *RedisLimitCounter {
	return &RedisLimitCounter{rdb: rdb, prefix: prefix, window: time.Minute, Timeout: 100 * time.Millisecond}
}

// Config is called by httprate with the limiter's settings.
func (c *RedisLimitCounter) Config(_ int, window time.Duration) { c.window = window }

// redisKey names the counter of key in the window starting at win.
func (c *RedisLimitCounter) redisKey(key string, win time.Time) string {
	return c.prefix + ":" + key + ":" + strconv.FormatInt(win.UnixMilli(), 10)
}

// ctx bounds one round trip. The LimitCounter interface carries no
// context, so the counter has its own deadline.
func (c *RedisLimitCounter) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.Timeout)
}

// Increment adds one to key's count in the window.
func (c *RedisLimitCounter) Increment(key string, win time.Time) error {
	return c.IncrementBy(key, win, 1)
}

// IncrementBy adds n to key's count in the window.
func (c *RedisLimitCounter) IncrementBy(key string, win time.Time, n int) error {
	ctx, cancel := c.ctx()
	defer cancel()
	k := c.redisKey(key, win)
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.IncrBy(ctx, k, int64(n))
		p.PExpire(ctx, k, 2*c.window+time.Second)
		return nil
	})
	if err != nil {
		return fulfill.Wrap(err, "redis rate limit increment")
	}
	return nil
}

// Get returns key's counts in the current and the previous window.
func (c *RedisLimitCounter) Get(key string, cur, prev time.Time) (int, int, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	vals, err := c.rdb.MGet(ctx, c.redisKey(key, cur), c.redisKey(key, prev)).Result()
	if err != nil {
		return 0, 0, fulfill.Wrap(err, "redis rate limit get")
	}
	return redisInt(vals[0]), redisInt(vals[1]), nil
}

// redisInt reads an MGET value (nil for a missing key).
func redisInt(v any) int {
	s, ok := v.(string)
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(s)
	return n
}
