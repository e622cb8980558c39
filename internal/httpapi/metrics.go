package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fulfill-dev/fulfill"
)

// metrics holds the HTTP layer's Prometheus metrics, in a private registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	checkouts       *prometheus.CounterVec
	webhooks        *prometheus.CounterVec
	webhookRejected *prometheus.CounterVec
	webhookAck      *prometheus.HistogramVec
}

// newMetrics registers the HTTP metrics and the Go and process collectors.
func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfill_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fulfill_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		checkouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfill_checkout_total",
			Help: "Checkout answers by result: created, replayed, rejected, conflict, rate_limited, error.",
		}, []string{"result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfill_webhooks_received_total",
			Help: "Gateway webhooks received, by provider and result: stored, duplicate, rejected, error.",
		}, []string{"provider", "result"}),
		webhookRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfill_webhook_rejected_total",
			Help: "Gateway webhooks refused and not stored, by provider and reason: invalid_signature, malformed, too_large, unknown_provider.",
		}, []string{"provider", "reason"}),
		webhookAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fulfill_webhook_ack_duration_seconds",
			Help:    "Time from a webhook's arrival to its acknowledgement (verified and durably stored), by provider.",
			Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, 1},
		}, []string{"provider"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.checkouts, m.webhooks, m.webhookRejected, m.webhookAck,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var (
	jobsDesc = prometheus.NewDesc("fulfill_jobs", "Jobs in the queue, by kind and state.", []string{"kind", "state"}, nil)
	lagDesc  = prometheus.NewDesc("fulfill_queue_lag_seconds", "Age of the oldest job available to run now.", nil, nil)
)

// jobsCollector exports one snapshot of the queue's statistics.
type jobsCollector struct{ stats fulfill.JobStats }

// Describe sends the descriptors of the queue metrics.
func (c jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- lagDesc
}

// Collect sends the snapshot.
func (c jobsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, jc := range c.stats.Counts {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(jc.Count), jc.Kind, string(jc.State))
	}
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, c.stats.Lag.Seconds())
}

// serveMetrics reads the queue's statistics with the scrape's context, then
// serves them together with the private registry.
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	g := prometheus.Gatherers{s.metrics.reg}
	stats, err := s.store.Jobs().Stats(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "metrics: queue stats", "err", err)
	} else {
		jobs := prometheus.NewRegistry()
		jobs.MustRegister(jobsCollector{stats})
		g = append(g, jobs)
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}}).ServeHTTP(w, r)
}

// slogPrinter adapts the logger to promhttp's error log.
type slogPrinter struct{ s *server }

// Println logs v as a warning.
func (p slogPrinter) Println(v ...any) { p.s.log.Warn("metrics", "err", v) }
