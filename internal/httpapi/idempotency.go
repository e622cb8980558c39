package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// Idempotency headers.
const (
	// IdempotencyKeyHeader names the client's key of a mutating request.
	IdempotencyKeyHeader = "Idempotency-Key"
	// ReplayedHeader is "true" on an answer replayed from a stored response.
	ReplayedHeader = "Idempotent-Replayed"
)

// mutating reports whether method changes state.
func mutating(method string) bool {
	return method == http.MethodPost || method == http.MethodPatch || method == http.MethodDelete || method == http.MethodPut
}

// requireIdempotencyKey refuses a request without an Idempotency-Key.
func (s *server) requireIdempotencyKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(IdempotencyKeyHeader) == "" {
			s.fail(w, r, fulfill.FieldErrorf(fulfill.EInvalid, IdempotencyKeyHeader,
				"the Idempotency-Key header is required: send a unique key (such as a UUID) per checkout and the same key on a retry"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// idempotent gives a mutating request with an Idempotency-Key Stripe's
// semantics: the first request runs and its 2xx–4xx answer is stored; the
// same key with the same method, path and body replays it byte for byte
// (with Idempotent-Replayed: true); with another request it is a 422
// idempotency_key_reused; while the first is running it is a 409. A 5xx or
// 429 answer is forgotten so that a retry runs again. Keys are scoped to
// the API key.
func (s *server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, sent := r.Header[http.CanonicalHeaderKey(IdempotencyKeyHeader)]; !sent || !mutating(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		req, err := s.idempotentRequest(w, r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		start, err := s.app.BeginIdempotent(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if start.Replay {
			w.Header().Set(ReplayedHeader, "true")
			writeRaw(w, start.Status, start.Body)
			return
		}
		s.runIdempotent(w, r, next, req)
	})
}

// idempotentRequest reads the body (within the route's limit) and puts it
// back for the handler.
func (s *server) idempotentRequest(w http.ResponseWriter, r *http.Request) (app.IdempotentRequest, error) {
	limit := s.maxBody
	if strings.HasPrefix(r.URL.Path, "/v1/imports/") {
		limit = maxImportBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return app.IdempotentRequest{}, decodeError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	path := r.URL.Path
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	return app.IdempotentRequest{
		Scope: apiKey(r.Context()).ID, Key: r.Header.Get(IdempotencyKeyHeader),
		Method: r.Method, Path: path, Body: body,
	}, nil
}

// runIdempotent runs the handler, recording its answer, then stores or
// forgets it, unless the use case already stored it with its effect.
func (s *server) runIdempotent(w http.ResponseWriter, r *http.Request, next http.Handler, req app.IdempotentRequest) {
	idem := &app.Idempotent{Scope: req.Scope, Key: req.Key}
	rec := &recorder{ResponseWriter: w}
	// Store or forget even when the client went away.
	bg := context.WithoutCancel(r.Context())
	finished := false
	defer func() {
		if !finished { // the handler panicked: let a retry run again
			s.abandon(bg, req)
		}
	}()
	next.ServeHTTP(rec, r.WithContext(app.WithIdempotent(r.Context(), idem)))
	finished = true
	if _, _, ok := idem.Committed(); ok {
		return
	}
	status := rec.statusOrOK()
	if status >= 500 || status == http.StatusTooManyRequests {
		s.abandon(bg, req)
		return
	}
	if err := s.app.FinishIdempotent(bg, req.Scope, req.Key, status, rec.body.Bytes()); err != nil {
		s.log.ErrorContext(bg, "store idempotent response", "key_id", req.Scope, "request_id", requestID(bg), "err", err)
	}
}

// abandon forgets a begun key.
func (s *server) abandon(ctx context.Context, req app.IdempotentRequest) {
	if err := s.app.AbandonIdempotent(ctx, req.Scope, req.Key); err != nil {
		s.log.ErrorContext(ctx, "forget idempotency key", "key_id", req.Scope, "request_id", requestID(ctx), "err", err)
	}
}

// renderJSON returns an app.Idempotent Render function: the exact bytes
// writeJSON would send with status.
func renderJSON(status int) func(any) (int, []byte, error) {
	return func(v any) (int, []byte, error) {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			return 0, nil, err
		}
		return status, buf.Bytes(), nil
	}
}

// writeRaw answers a stored JSON body.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may have gone; nothing to do about it
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

// WriteHeader records the status.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records the body.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOrOK is the status written, 200 when none was.
func (w *recorder) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
