package httpapi_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfill-dev/fulfill/internal/httpapi"
)

func TestCheckoutRateLimitPerKey(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{rate: httpapi.RateLimit{PerIP: -1, PerKey: 3, Window: time.Minute}})
	limited := 0
	for i := range 6 {
		r := s.checkout(fmt.Sprintf("rl-%d", i), cart())
		switch r.status {
		case http.StatusCreated:
		case http.StatusTooManyRequests:
			limited++
			wantError(t, r, 429, "rate_limited", "")
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
			}
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	if limited != 3 {
		t.Errorf("%d limited, want 3", limited)
	}
	// Another key has its own budget.
	if r := s.send("POST", "/v1/checkout", s.admin, cart(), map[string]string{"Idempotency-Key": "rl-admin"}); r.status != http.StatusCreated {
		t.Errorf("admin key: %d %s", r.status, r.body)
	}
	// A limited request stored nothing under its key: once allowed, it runs.
	if n := s.orderCount(); n != 4 {
		t.Errorf("%d orders, want 4", n)
	}
	m := s.do("GET", "/metrics", "", nil)
	if want := `fulfill_checkout_total{result="rate_limited"} 3`; !contains(m.body, want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestCheckoutRateLimitPerIP(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopOpts{rate: httpapi.RateLimit{PerIP: 2, PerKey: -1, Window: time.Minute}})
	statuses := []int{}
	for i := range 4 {
		// The IP limit comes before authentication: even keyless requests count.
		key := s.merchant
		if i == 2 {
			key = s.admin
		}
		statuses = append(statuses, s.send("POST", "/v1/checkout", key, cart(), map[string]string{"Idempotency-Key": fmt.Sprint(i)}).status)
	}
	if statuses[0] != 201 || statuses[1] != 201 || statuses[2] != 429 || statuses[3] != 429 {
		t.Errorf("statuses %v", statuses)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

const redisURLEnv = "FULFILL_TEST_REDIS_URL"

// testRedis connects to the Redis at FULFILL_TEST_REDIS_URL, or skips (fails
// on CI).
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv(redisURLEnv)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(redisURLEnv + " must be set on CI to test the Redis rate-limit counter")
		}
		t.Skip("set " + redisURLEnv + " (e.g. redis://127.0.0.1:6379/0) to test the Redis rate-limit counter")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", redisURLEnv, err)
	}
	return c
}

func TestRedisLimitCounter(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	prefix := fmt.Sprintf("fulfill-test:%d", time.Now().UnixNano())
	c := httpapi.NewRedisLimitCounter(rdb, prefix)
	c.Config(10, time.Minute)
	win := time.Now().UTC().Truncate(time.Minute)
	prev := win.Add(-time.Minute)
	for range 3 {
		if err := c.Increment("ip-1", win); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.IncrementBy("ip-1", prev, 5); err != nil {
		t.Fatal(err)
	}
	cur, p, err := c.Get("ip-1", win, prev)
	if err != nil || cur != 3 || p != 5 {
		t.Fatalf("Get = %d %d %v, want 3 5", cur, p, err)
	}
	if cur, p, err := c.Get("ip-2", win, prev); err != nil || cur != 0 || p != 0 {
		t.Fatalf("unknown key = %d %d %v", cur, p, err)
	}
	ttl, err := rdb.PTTL(t.Context(), prefix+":ip-1:"+strconv.FormatInt(win.UnixMilli(), 10)).Result()
	if err != nil || ttl <= 0 || ttl > 2*time.Minute+time.Second {
		t.Errorf("ttl %v %v", ttl, err)
	}
}

// Two servers sharing one Redis share the budget.
func TestCheckoutRateLimitSharedThroughRedis(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	s := newShop(t, shopOpts{rate: httpapi.RateLimit{PerIP: -1, PerKey: 2, Window: time.Minute}, redis: rdb})
	other := newShopOn(t, s, shopOpts{rate: httpapi.RateLimit{PerIP: -1, PerKey: 2, Window: time.Minute}, redis: rdb})
	got := []int{
		s.checkout("r-1", cart()).status,
		sendRaw(t, other, "POST", "/v1/checkout", s.merchant, mustJSON(cart()), map[string]string{"Idempotency-Key": "r-2"}).status,
		s.checkout("r-3", cart()).status,
	}
	if got[0] != 201 || got[1] != 201 || got[2] != 429 {
		t.Errorf("statuses %v, want 201 201 429", got)
	}
}
