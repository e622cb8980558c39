package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill/internal/app"
)

// checkout answers POST /v1/checkout. When the use case stored the answer
// with the order (idempotency), exactly those bytes are sent.
func (s *server) checkout(w http.ResponseWriter, r *http.Request) {
	var in app.CheckoutInput
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	idem := app.IdempotentFrom(r.Context())
	if idem != nil {
		idem.Render = renderJSON(http.StatusCreated)
	}
	o, err := s.app.Checkout(r.Context(), actor(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/orders/"+url.PathEscape(o.ID))
	if idem != nil {
		if status, body, ok := idem.Committed(); ok {
			writeRaw(w, status, body)
			return
		}
	}
	s.writeJSON(w, r, http.StatusCreated, o)
}

// countCheckout counts checkout answers by result.
func (s *server) countCheckout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.metrics.checkouts.WithLabelValues(checkoutResult(rec.status, w.Header().Get(ReplayedHeader) == "true")).Inc()
	})
}

// checkoutResult names a checkout answer for the metric.
func checkoutResult(status int, replayed bool) string {
	switch {
	case replayed:
		return "replayed"
	case status == http.StatusCreated:
		return "created"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status == http.StatusConflict:
		return "conflict"
	case status >= 500 || status == 0:
		return "error"
	}
	return "rejected"
}

// getOrder answers GET /v1/orders/{id}.
func (s *server) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := s.app.GetOrder(r.Context(), chi.URLParam(r, "id"))
	s.answer(w, r, o, err)
}

// listOrders answers GET /v1/orders?status=&cursor=&limit=.
func (s *server) listOrders(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	rows, next, err := s.app.ListOrders(r.Context(), app.OrderListParams{
		Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

// cancelOrder answers POST /v1/orders/{id}/cancel; the body is optional.
func (s *server) cancelOrder(w http.ResponseWriter, r *http.Request) {
	var in app.CancelInput
	if err := s.decodeOptional(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.app.CancelOrder(r.Context(), actor(r), chi.URLParam(r, "id"), in)
	s.answer(w, r, o, err)
}

// decodeOptional decodes a JSON body when there is one.
func (s *server) decodeOptional(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return decodeError(err)
	}
	if len(body) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return s.decode(w, r, dst)
}
