package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill"
)

// ctxKey keys this package's request context values.
type ctxKey int

const (
	keyRequest ctxKey = iota
)

// reqInfo is what the outer middleware learns from the inner ones: the
// request id, and the API key once authentication found it.
type reqInfo struct {
	id  string
	key *fulfill.APIKey
}

// info returns the request's reqInfo (never nil inside the router).
func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(keyRequest).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// requestID returns the request's id.
func requestID(ctx context.Context) string { return info(ctx).id }

// apiKey returns the authenticated key of the request.
func apiKey(ctx context.Context) *fulfill.APIKey { return info(ctx).key }

// actor names the caller for the audit trail: the API key id.
func actor(r *http.Request) string {
	if k := apiKey(r.Context()); k != nil {
		return k.ID
	}
	return "anonymous"
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// newRequestID returns 16 random hex characters.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost middleware: it gives the request an id (taking a
// sane X-Request-Id from the client), recovers panics, and logs and counts
// the request by its route pattern. The key's id is logged, never the key.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: r.Header.Get("X-Request-Id")}
		if !requestIDRE.MatchString(ri.id) {
			ri.id = newRequestID()
		}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), keyRequest, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.fail(sw, r, fmt.Errorf("panic: %v", p))
			}
			s.record(r, ri, sw.status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// record logs and counts one finished request.
func (s *server) record(r *http.Request, ri *reqInfo, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	route := "unmatched"
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		route = rc.RoutePattern()
	}
	code := strconv.Itoa(status)
	s.metrics.requests.WithLabelValues(route, r.Method, code).Inc()
	s.metrics.duration.WithLabelValues(route, r.Method, code).Observe(d.Seconds())
	keyID := ""
	if ri.key != nil {
		keyID = ri.key.ID
	}
	s.log.InfoContext(r.Context(), "http request", "method", r.Method, "route", route, "status", status,
		"duration_ms", float64(d.Microseconds())/1000, "key_id", keyID, "request_id", ri.id)
}
