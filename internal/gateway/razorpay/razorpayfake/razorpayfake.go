// Package razorpayfake is a local stand-in for Razorpay's REST API: orders,
// an order's payments, payment capture and refund, basic auth, JSON bodies
// and Razorpay's error JSON (including its 400 for unknown ids). Import it
// from _test.go files only.
package razorpayfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Order is the fake's record of a Razorpay order.
type Order struct {
	ID       string
	Amount   int64
	Currency string
	Capture  string
	Notes    map[string]string
	Receipt  string
	Payments []*Payment
}

// Payment is the fake's record of a payment against an order.
type Payment struct {
	ID       string `json:"id"`
	Entity   string `json:"entity"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
	OrderID  string `json:"order_id"`
	Refunded int64  `json:"amount_refunded"`
}

// Server is a fake Razorpay API.
type Server struct {
	*httptest.Server
	keyID, keySecret string

	mu       sync.Mutex
	orders   map[string]*Order
	payments map[string]*Payment
}

// New starts a fake accepting keyID/keySecret; it stops with the test.
func New(t testing.TB, keyID, keySecret string) *Server {
	s := &Server{keyID: keyID, keySecret: keySecret, orders: map[string]*Order{}, payments: map[string]*Payment{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/orders", s.createOrder)
	mux.HandleFunc("GET /v1/orders/{id}/payments", s.listPayments)
	mux.HandleFunc("POST /v1/payments/{id}/capture", s.capture)
	mux.HandleFunc("POST /v1/payments/{id}/refund", s.refund)
	s.Server = httptest.NewServer(s.auth(mux))
	t.Cleanup(s.Close)
	return s
}

// Pay simulates the shopper paying order id: the payment is authorized for a
// manual-capture order and captured otherwise.
func (s *Server) Pay(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return fmt.Errorf("razorpayfake: no order %q", id)
	}
	p := &Payment{ID: "pay_" + randID(), Entity: "payment", Amount: o.Amount, Currency: o.Currency, Status: "captured", OrderID: o.ID}
	if o.Capture == "manual" {
		p.Status = "authorized"
	}
	o.Payments = append(o.Payments, p)
	s.payments[p.ID] = p
	return nil
}

// Order returns a copy of the order with id.
func (s *Server) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	c := *o
	c.Payments = make([]*Payment, len(o.Payments))
	for i, p := range o.Payments {
		cp := *p
		c.Payments[i] = &cp
	}
	return c, true
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != s.keyID || secret != s.keySecret {
			rzpError(w, http.StatusUnauthorized, "Authentication failed")
			return
		}
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
			rzpError(w, http.StatusBadRequest, "Content-Type must be application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount   int64             `json:"amount"`
		Currency string            `json:"currency"`
		Receipt  string            `json:"receipt"`
		Notes    map[string]string `json:"notes"`
		Payment  struct {
			Capture string `json:"capture"`
		} `json:"payment"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Amount < 1 || len(in.Currency) != 3 {
		rzpError(w, http.StatusBadRequest, "The amount must be at least INR 1.00")
		return
	}
	if in.Payment.Capture != "automatic" && in.Payment.Capture != "manual" {
		rzpError(w, http.StatusBadRequest, "payment.capture must be automatic or manual")
		return
	}
	o := &Order{ID: "order_" + randID(), Amount: in.Amount, Currency: in.Currency, Capture: in.Payment.Capture, Notes: in.Notes, Receipt: in.Receipt}
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
	writeJSON(w, map[string]any{"id": o.ID, "entity": "order", "amount": o.Amount, "amount_paid": 0, "amount_due": o.Amount,
		"currency": o.Currency, "receipt": o.Receipt, "status": "created", "notes": o.Notes, "attempts": 0})
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		notExist(w)
		return
	}
	writeJSON(w, map[string]any{"entity": "collection", "count": len(o.Payments), "items": o.Payments})
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[r.PathValue("id")]
	switch {
	case !ok:
		notExist(w)
	case p.Status != "authorized":
		rzpError(w, http.StatusBadRequest, "This payment has already been captured")
	case in.Amount != p.Amount || in.Currency != p.Currency:
		rzpError(w, http.StatusBadRequest, "Capture amount must be equal to the amount authorized")
	default:
		p.Status = "captured"
		writeJSON(w, p)
	}
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount int64 `json:"amount"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[r.PathValue("id")]
	switch {
	case !ok:
		notExist(w)
		return
	case p.Status != "captured":
		rzpError(w, http.StatusBadRequest, "The payment has not been captured, refund not possible in this state")
		return
	}
	amount := in.Amount
	if amount == 0 {
		amount = p.Amount - p.Refunded
	}
	if amount <= 0 || amount > p.Amount-p.Refunded {
		rzpError(w, http.StatusBadRequest, "The refund amount provided is greater than amount captured")
		return
	}
	p.Refunded += amount
	writeJSON(w, map[string]any{"id": "rfnd_" + randID(), "entity": "refund", "amount": amount, "currency": p.Currency,
		"payment_id": p.ID, "status": "processed", "speed_processed": "normal"})
}

func notExist(w http.ResponseWriter) {
	rzpError(w, http.StatusBadRequest, "The id provided does not exist")
}

func rzpError(w http.ResponseWriter, status int, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": "BAD_REQUEST_ERROR", "description": desc, "source": "business", "step": "payment_initiation",
		"reason": "input_validation_failed", "metadata": map[string]any{}, "field": nil,
	}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randID returns 14 characters like Razorpay's ids.
func randID() string {
	b := make([]byte, 14)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
