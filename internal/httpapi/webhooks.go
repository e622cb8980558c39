package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// webhookAck is the answer to a gateway's webhook.
type webhookAck struct {
	Received  bool   `json:"received"`
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// receiveWebhook answers POST /webhooks/{provider}: no API key, the
// gateway's signature over the raw body is the authentication. The event
// is verified, stored with its processing job (group commit; see
// app.ReceiveWebhook) and acknowledged; nothing heavy happens before the
// answer.
func (s *server) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	provider := chi.URLParam(r, "provider")
	label := s.providerLabel(provider)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		s.rejectWebhook(w, r, label, "too_large", decodeError(err))
		return
	}
	ev, dup, err := s.app.ReceiveWebhook(r.Context(), provider, r.Header, body)
	if err != nil {
		s.webhookFailed(w, r, label, err)
		return
	}
	result := "stored"
	if dup {
		result = "duplicate"
	}
	s.metrics.webhooks.WithLabelValues(label, result).Inc()
	s.writeJSON(w, r, http.StatusOK, webhookAck{Received: true, ID: ev.ID, Duplicate: dup})
	s.metrics.webhookAck.WithLabelValues(label).Observe(time.Since(start).Seconds())
}

// webhookFailed answers a webhook that was not stored.
func (s *server) webhookFailed(w http.ResponseWriter, r *http.Request, label string, err error) {
	switch fulfill.ErrorCodeOf(err) {
	case fulfill.ENotFound:
		s.rejectWebhook(w, r, label, "unknown_provider", err)
	case app.EInvalidSignature:
		s.rejectWebhook(w, r, label, "invalid_signature", err)
	case fulfill.EInvalid:
		s.rejectWebhook(w, r, label, "malformed", err)
	default:
		s.metrics.webhooks.WithLabelValues(label, "error").Inc()
		s.fail(w, r, err)
	}
}

// rejectWebhook counts, logs (without headers, body or secrets) and
// answers a refused webhook.
func (s *server) rejectWebhook(w http.ResponseWriter, r *http.Request, label, reason string, err error) {
	s.metrics.webhooks.WithLabelValues(label, "rejected").Inc()
	s.metrics.webhookRejected.WithLabelValues(label, reason).Inc()
	_, d := toPublic(err)
	s.log.WarnContext(r.Context(), "webhook rejected", "provider", label, "reason", reason,
		"message", d.Message, "remote", r.RemoteAddr, "request_id", requestID(r.Context()))
	s.fail(w, r, err)
}

// providerLabel bounds the metric label: a provider that is not configured
// is "unknown".
func (s *server) providerLabel(provider string) string {
	if s.app != nil && slices.Contains(s.app.GatewayNames(), provider) {
		return provider
	}
	return "unknown"
}

// listWebhookEvents answers GET /v1/webhooks/events.
func (s *server) listWebhookEvents(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	rows, next, err := s.app.ListWebhookEvents(r.Context(), app.WebhookListParams{
		Status: q.Get("status"), Provider: q.Get("provider"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

// webhookEventDetail is one event with its raw payload (JSON when it is).
type webhookEventDetail struct {
	*fulfill.WebhookEvent
	Payload json.RawMessage `json:"payload,omitempty"`
}

// detail adds the payload to e.
func detail(e *fulfill.WebhookEvent) webhookEventDetail {
	d := webhookEventDetail{WebhookEvent: e}
	if json.Valid(e.Payload) {
		d.Payload = e.Payload
	}
	return d
}

// getWebhookEvent answers GET /v1/webhooks/events/{id}.
func (s *server) getWebhookEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.app.GetWebhookEvent(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, detail(e))
}

// replayWebhookEvent answers POST /v1/webhooks/events/{id}/replay.
func (s *server) replayWebhookEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.app.ReplayWebhookEvent(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, detail(e))
}

// confirmSandbox answers POST /sandbox/payments/{intent_id}/confirm: the
// shopper paying on the sandbox gateway's page. No API key, as on a real
// gateway's page; 404 when the sandbox is not configured.
func (s *server) confirmSandbox(w http.ResponseWriter, r *http.Request) {
	var in app.SandboxConfirm
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	si, err := s.app.ConfirmSandboxPayment(r.Context(), chi.URLParam(r, "intent_id"), in)
	s.answer(w, r, si, err)
}
