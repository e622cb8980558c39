package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadOpts are the flags of `fulfill load`.
type loadOpts struct {
	url, key, secret string
	rate             int
	duration         time.Duration
	timeout          time.Duration
	orders           int
	ordersFile       string
	skus             string
	restock          bool
	drainTimeout     time.Duration
	setupWorkers     int
	hdrOut           string
}

// load is `fulfill load checkout|webhooks`: an open-loop load generator
// (a constant arrival rate, whatever the answers' speed) against a running
// server, with a progress bar and a latency summary.
func (e *env) load(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "checkout" && args[0] != "webhooks") {
		return usagef("load: say what to load: fulfill load checkout|webhooks [flags] (see fulfill load checkout -h)")
	}
	kind := args[0]
	var o loadOpts
	cfg, pos, err := e.flags("load "+kind, args[1:], func(fs *flag.FlagSet) { o.register(fs, e.getenv) })
	if err != nil {
		return helped(err)
	}
	if len(pos) > 0 {
		return usagef("load %s takes no arguments, got %q", kind, pos)
	}
	if err := o.check(cfg); err != nil {
		return err
	}
	l := &loader{env: e, o: o, http: &http.Client{Timeout: o.timeout}}
	if kind == "checkout" {
		return l.checkout(ctx)
	}
	return l.webhooks(ctx)
}

func (o *loadOpts) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&o.url, "url", "", "base URL of the server (default http:// + --addr)")
	fs.StringVar(&o.key, "key", getenv("FULFILL_KEY"), "API key (admin) for checkout and the operator endpoints (env FULFILL_KEY)")
	fs.StringVar(&o.secret, "secret", "", "sandbox webhook secret (default: FULFILL_SANDBOX_WEBHOOK_SECRET, else the one in the data folder)")
	fs.IntVar(&o.rate, "rate", 0, "requests per second (default 500 for checkout, 1000 for webhooks)")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "how long to send")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.IntVar(&o.orders, "orders", 0, "webhooks: orders to create first (default rate × duration, one payment each)")
	fs.StringVar(&o.ordersFile, "orders-file", "", "webhooks: reuse the orders in this file, or save the created ones to it")
	fs.StringVar(&o.skus, "skus", "", "SKUs to order, comma-separated (default: every active product)")
	fs.BoolVar(&o.restock, "restock", true, "receive enough stock first that every order, once paid, can be reserved")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "webhooks: how long to wait for the queue to drain")
	fs.IntVar(&o.setupWorkers, "setup-workers", 16, "concurrent requests while creating orders and restocking")
	fs.StringVar(&o.hdrOut, "hdr-out", "", "also write the full latency distribution to this file (HdrHistogram percentile format, milliseconds)")
}

func (o *loadOpts) check(cfg *Config) error {
	if o.url == "" {
		o.url = ownBase(cfg.Addr)
	}
	o.url = strings.TrimRight(o.url, "/")
	if o.key == "" {
		return usagef("load: an API key is required (--key or FULFILL_KEY)")
	}
	if o.rate < 0 || o.duration <= 0 || o.setupWorkers <= 0 {
		return usagef("load: --rate, --duration and --setup-workers must be positive")
	}
	if o.secret == "" {
		o.secret = cfg.Pipeline.SandboxWebhookSecret
	}
	if o.secret == "" && cfg.DataDir != "" {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, sandboxSecretFile))
		if err == nil {
			o.secret = strings.TrimSpace(string(b))
		}
	}
	return nil
}

// ownBase turns a listen address into a URL to reach it.
func ownBase(addr string) string {
	if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") {
		_, port, _ := strings.Cut(addr, ":")
		if strings.HasPrefix(addr, "0.0.0.0:") {
			port = strings.TrimPrefix(addr, "0.0.0.0:")
		}
		return "http://127.0.0.1:" + port
	}
	return "http://" + addr
}

// loader runs one load test.
type loader struct {
	*env
	o    loadOpts
	http *http.Client
}

// catalogItem is what the loader needs of a product.
type catalogItem struct {
	SKU    string `json:"sku"`
	Active bool   `json:"active"`
}

// skuList returns --skus, or every active product.
func (l *loader) skuList(ctx context.Context) ([]string, error) {
	if l.o.skus != "" {
		return splitList(l.o.skus), nil
	}
	var out []string
	cursor := ""
	for range 100 {
		var p struct {
			Data       []catalogItem `json:"data"`
			NextCursor string        `json:"next_cursor"`
		}
		if err := l.getJSON(ctx, "/v1/products?limit=1000&cursor="+cursor, &p); err != nil {
			return nil, err
		}
		for _, it := range p.Data {
			if it.Active {
				out = append(out, it.SKU)
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(out) == 0 {
		return nil, errors.New("load: the catalog has no active product (import the demo: fulfill import --demo)")
	}
	return out, nil
}

// cities are where the generated shoppers live (near the demo's warehouses).
var cities = []struct {
	city, region, postal string
	lat, lon             float64
}{
	{"Bengaluru", "KA", "560001", 12.97, 77.59},
	{"Gurugram", "HR", "122002", 28.46, 77.03},
	{"Mumbai", "MH", "400001", 19.08, 72.88},
	{"Chennai", "TN", "600001", 13.08, 80.27},
	{"Delhi", "DL", "110001", 28.61, 77.21},
}

// checkoutBody renders the checkout of one unit of sku by shopper n.
func checkoutJSON(n uint64, sku string) []byte {
	c := cities[n%uint64(len(cities))]
	b, _ := json.Marshal(map[string]any{
		"customer": map[string]any{"email": fmt.Sprintf("shopper%d@example.com", n), "name": "Load Shopper"},
		"shipping_address": map[string]any{
			"name": "Load Shopper", "line1": "1 Load Street", "city": c.city, "region": c.region,
			"postal_code": c.postal, "country": "IN", "lat": c.lat, "lon": c.lon,
		},
		"lines":    []map[string]any{{"sku": sku, "quantity": 1}},
		"currency": "INR",
		"payment":  map[string]any{"provider": "sandbox", "capture": "automatic"},
	})
	return b
}

// checkout is `fulfill load checkout`.
func (l *loader) checkout(ctx context.Context) error {
	if l.o.rate == 0 {
		l.o.rate = 500
	}
	skus, err := l.skuList(ctx)
	if err != nil {
		return err
	}
	if l.o.restock { // for a server that auto-confirms payments (FULFILL_SANDBOX_AUTO_CONFIRM_MS)
		if err := l.restock(ctx, skus, int(float64(l.o.rate)*l.o.duration.Seconds())/len(skus)+1); err != nil {
			return err
		}
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var seq atomic.Uint64
	header := func() http.Header {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+l.o.key)
		h.Set("Content-Type", "application/json")
		return h
	}
	tr := func(t *vegeta.Target) error {
		n := seq.Add(1)
		t.Method, t.URL = http.MethodPost, l.o.url+"/v1/checkout"
		t.Body = checkoutJSON(n, skus[rand.IntN(len(skus))])
		t.Header = header()
		t.Header.Set("Idempotency-Key", "load-"+run+"-"+strconv.FormatUint(n, 10))
		return nil
	}
	fmt.Fprintf(l.stdout, "load checkout: %d/s for %s against %s (%d SKUs)\n", l.o.rate, l.o.duration, l.o.url, len(skus))
	obs := l.observe(ctx)
	res := l.attack(ctx, "checkout", tr)
	lag := obs.stop()
	if err := l.report(res, "checkout"); err != nil {
		return err
	}
	fmt.Fprintf(l.stdout, "queue lag      max %s during the run\n", lag.Round(time.Millisecond))
	return nil
}

// attackResult is what one attack measured: vegeta's counters and an HDR
// histogram of every request's latency (1 µs to 1 min, 3 significant
// digits: each percentile is within 0.1 % of the exact value).
type attackResult struct {
	metrics vegeta.Metrics
	hist    *hdrhistogram.Histogram
}

// newLatencyHistogram records microseconds from 1 µs to one minute.
func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, time.Minute.Microseconds(), 3)
}

// attack sends at the configured rate for the configured duration.
func (l *loader) attack(ctx context.Context, name string, tr vegeta.Targeter) *attackResult {
	total := int(float64(l.o.rate) * l.o.duration.Seconds())
	bar := l.newBar(name, total)
	atk := vegeta.NewAttacker(vegeta.Timeout(l.o.timeout), vegeta.KeepAlive(true),
		vegeta.Connections(10000), vegeta.MaxBody(4096), vegeta.Workers(uint64(max(8, l.o.rate/50))))
	res := &attackResult{hist: newLatencyHistogram()}
	stopped := false
	for r := range atk.Attack(tr, vegeta.ConstantPacer{Freq: l.o.rate, Per: time.Second}, l.o.duration, name) {
		res.metrics.Add(r)
		// A latency beyond the histogram's range (a timeout is 10 s by
		// default) is recorded at its top.
		_ = res.hist.RecordValue(min(max(r.Latency.Microseconds(), 1), res.hist.HighestTrackableValue()))
		_ = bar.Add(1)
		if !stopped && ctx.Err() != nil {
			stopped = atk.Stop()
		}
	}
	_ = bar.Finish()
	res.metrics.Close()
	return res
}

// quantile is the latency at percentile p (0–100) of the histogram.
func (r *attackResult) quantile(p float64) time.Duration {
	return time.Duration(r.hist.ValueAtPercentile(p)) * time.Microsecond
}

// writeHDR writes the full percentile distribution in HdrHistogram's text
// format (milliseconds), which HdrHistogram's plotter reads.
func (r *attackResult) writeHDR(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := r.hist.PercentilesPrint(f, 5, 1000); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// report prints the summary and writes --hdr-out.
func (l *loader) report(res *attackResult, name string) error {
	res.print(l.stdout, name)
	if l.o.hdrOut == "" {
		return nil
	}
	if err := res.writeHDR(l.o.hdrOut); err != nil {
		return fmt.Errorf("load %s: write --hdr-out: %w", name, err)
	}
	fmt.Fprintf(l.stdout, "latency distribution written to %s\n", l.o.hdrOut)
	return nil
}

// print writes the summary: rate, status codes, the latency distribution
// (percentiles of every request from the HDR histogram) and the first
// errors.
func (r *attackResult) print(w io.Writer, name string) {
	m := &r.metrics
	fmt.Fprintf(w, "%-14s %d requests in %s: sent %.1f/s, succeeded %.1f/s, success %.2f%%\n",
		name, m.Requests, m.Duration.Round(time.Millisecond), m.Rate, m.Throughput, 100*m.Success)
	codes := make([]string, 0, len(m.StatusCodes))
	for c, n := range m.StatusCodes {
		codes = append(codes, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "status codes   %s   (0: no answer)\n", strings.Join(codes, "  "))
	fmt.Fprintf(w, "latency        ")
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"max", 100}} {
		fmt.Fprintf(w, "%s %s  ", q.name, fmtMS(r.quantile(q.q)))
	}
	fmt.Fprintf(w, "mean %s\n", fmtMS(m.Latencies.Mean))
	for i, e := range m.Errors {
		if i == 5 {
			fmt.Fprintf(w, "  … %d more distinct errors\n", len(m.Errors)-5)
			break
		}
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

// observer samples the server's queue lag from /metrics.
type observer struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	max   time.Duration
}

// observe starts sampling fulfill_queue_lag_seconds every second (each
// scrape counts the jobs, so sampling faster would load the server).
func (l *loader) observe(ctx context.Context) *observer {
	ob := &observer{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ob.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if lag, err := l.queueLag(ctx); err == nil {
				ob.mu.Lock()
				ob.max = max(ob.max, lag)
				ob.mu.Unlock()
			}
			select {
			case <-ob.stopc:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return ob
}

// stop ends the sampling and returns the largest lag seen.
func (ob *observer) stop() time.Duration {
	close(ob.stopc)
	<-ob.done
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.max
}

// queueLag reads fulfill_queue_lag_seconds from /metrics.
func (l *loader) queueLag(ctx context.Context) (time.Duration, error) {
	body, _, err := l.do(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "fulfill_queue_lag_seconds "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(f * float64(time.Second)), nil
		}
	}
	return 0, errors.New("no fulfill_queue_lag_seconds in /metrics")
}

// do sends one request with the API key and returns the body and status;
// a 429 is retried after its Retry-After.
func (l *loader) do(ctx context.Context, method, path string, hdr http.Header, body []byte) ([]byte, int, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, method, l.o.url+path, bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+l.o.key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := l.http.Do(req)
		if err != nil {
			return nil, 0, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			return raw, resp.StatusCode, err
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(time.Duration(max(wait, 1)) * time.Second):
		}
	}
}

// getJSON GETs path and decodes a 200 answer into v.
func (l *loader) getJSON(ctx context.Context, path string, v any) error {
	raw, status, err := l.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d %s", path, status, bytes.TrimSpace(raw))
	}
	return json.Unmarshal(raw, v)
}
