// Package stripefake is a local stand-in for Stripe's REST API: the
// PaymentIntent create/capture/cancel and refund endpoints, form-encoded
// requests, Bearer auth, Idempotency-Key replay and Stripe's error JSON.
// Import it from _test.go files only.
package stripefake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// Intent is the fake's record of a PaymentIntent.
type Intent struct {
	ID            string
	Amount        int64
	Currency      string
	CaptureMethod string
	Status        string
	Metadata      map[string]string
	Received      int64
	Refunded      int64
}

// Server is a fake Stripe API.
type Server struct {
	*httptest.Server
	key string

	mu      sync.Mutex
	intents map[string]*Intent
	idem    map[string][]byte
}

// New starts a fake that accepts the secret key key; it stops with the test.
func New(t testing.TB, key string) *Server {
	s := &Server{key: key, intents: map[string]*Intent{}, idem: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payment_intents", s.create)
	mux.HandleFunc("POST /v1/payment_intents/{id}/capture", s.capture)
	mux.HandleFunc("POST /v1/payment_intents/{id}/cancel", s.cancel)
	mux.HandleFunc("POST /v1/refunds", s.refund)
	s.Server = httptest.NewServer(s.auth(mux))
	t.Cleanup(s.Close)
	return s
}

// Pay simulates the shopper confirming intent id: a manual-capture intent
// becomes requires_capture, an automatic one succeeded.
func (s *Server) Pay(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.intents[id]
	if !ok || in.Status != "requires_payment_method" {
		return fmt.Errorf("stripefake: intent %q is not payable", id)
	}
	if in.CaptureMethod == "manual" {
		in.Status = "requires_capture"
		return nil
	}
	in.Status, in.Received = "succeeded", in.Amount
	return nil
}

// Intent returns a copy of the intent with id.
func (s *Server) Intent(id string) (Intent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.intents[id]
	if !ok {
		return Intent{}, false
	}
	return *in, true
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.key {
			stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided")
			return
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "form encoding expected")
			return
		}
		if err := r.ParseForm(); err != nil {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed form")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		s.replay(w, r, key, next)
	})
}

// replay answers a repeated Idempotency-Key with the first answer.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, key string, next http.Handler) {
	s.mu.Lock()
	prev, ok := s.idem[r.URL.Path+"|"+key]
	s.mu.Unlock()
	if ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		_, _ = w.Write(prev)
		return
	}
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		s.mu.Lock()
		s.idem[r.URL.Path+"|"+key] = rec.Body.Bytes()
		s.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	amount, err := strconv.ParseInt(r.PostForm.Get("amount"), 10, 64)
	if err != nil || amount <= 0 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "Invalid integer: amount")
		return
	}
	cm := r.PostForm.Get("capture_method")
	if cm == "" {
		cm = "automatic"
	}
	if cm != "automatic" && cm != "automatic_async" && cm != "manual" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_string", "Invalid capture_method")
		return
	}
	in := &Intent{
		ID: "pi_" + randHex(12), Amount: amount, Currency: r.PostForm.Get("currency"), CaptureMethod: cm,
		Status: "requires_payment_method", Metadata: map[string]string{"order_id": r.PostForm.Get("metadata[order_id]")},
	}
	s.mu.Lock()
	s.intents[in.ID] = in
	s.mu.Unlock()
	writeIntent(w, in)
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.find(w, r.PathValue("id"))
	if in == nil {
		return
	}
	if in.Status != "requires_capture" {
		unexpectedState(w, in)
		return
	}
	amount := in.Amount
	if v := r.PostForm.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > in.Amount {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "amount_too_large", "amount_to_capture is invalid")
			return
		}
		amount = n
	}
	in.Status, in.Received = "succeeded", amount
	writeIntent(w, in)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.find(w, r.PathValue("id"))
	if in == nil {
		return
	}
	switch in.Status {
	case "requires_payment_method", "requires_capture", "requires_confirmation", "requires_action":
		in.Status = "canceled"
		writeIntent(w, in)
	default:
		unexpectedState(w, in)
	}
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.find(w, r.PostForm.Get("payment_intent"))
	if in == nil {
		return
	}
	if in.Status != "succeeded" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "charge_not_refundable",
			"This PaymentIntent does not have a successful charge to refund.")
		return
	}
	amount := in.Received - in.Refunded
	if v := r.PostForm.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > in.Received-in.Refunded {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "amount_too_large", "Refund amount is greater than unrefunded amount")
			return
		}
		amount = n
	}
	in.Refunded += amount
	writeJSON(w, map[string]any{"id": "re_" + randHex(12), "object": "refund", "amount": amount,
		"currency": in.Currency, "payment_intent": in.ID, "status": "succeeded"})
}

// find returns the intent or writes Stripe's resource_missing 404.
// The caller holds s.mu.
func (s *Server) find(w http.ResponseWriter, id string) *Intent {
	in, ok := s.intents[id]
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such payment_intent: '"+id+"'")
		return nil
	}
	return in
}

func unexpectedState(w http.ResponseWriter, in *Intent) {
	stripeError(w, http.StatusBadRequest, "invalid_request_error", "payment_intent_unexpected_state",
		"This PaymentIntent's status is "+in.Status+".")
}

func writeIntent(w http.ResponseWriter, in *Intent) {
	writeJSON(w, map[string]any{
		"id": in.ID, "object": "payment_intent", "amount": in.Amount, "amount_received": in.Received,
		"currency": in.Currency, "capture_method": in.CaptureMethod, "status": in.Status,
		"client_secret": in.ID + "_secret_" + randHex(8), "metadata": in.Metadata,
	})
}

func stripeError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
