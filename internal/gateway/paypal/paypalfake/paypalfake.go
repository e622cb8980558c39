// Package paypalfake is a local stand-in for PayPal's REST API over TLS:
// the OAuth2 token endpoint, Orders v2 (create, get, capture, authorize),
// authorization capture/void, capture refund, webhook certificates and
// verify-webhook-signature, with PayPal's error JSON. Import it from
// _test.go files only.
package paypalfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill/internal/gateway/paypal"
)

// Order is the fake's record of a PayPal order.
type Order struct {
	ID, Intent, Status, CustomID string
	Amount                       map[string]string
	Auth, Capture                *Payment
}

// Payment is an authorization or a capture.
type Payment struct{ ID, Status string }

// Server is a fake PayPal API.
type Server struct {
	*httptest.Server
	clientID, secret string

	// TokenFetches and CertFetches count calls, for cache tests.
	TokenFetches, CertFetches atomic.Int64

	mu        sync.Mutex
	tokens    map[string]bool
	orders    map[string]*Order
	byPayment map[string]*Order
	certPEM   []byte
	verifyKey *rsa.PublicKey
	webhookID string
}

// New starts a TLS fake accepting clientID/secret; it stops with the test.
// Use s.Client() as the gateway's HTTP client.
func New(t testing.TB, clientID, secret string) *Server {
	s := &Server{clientID: clientID, secret: secret, tokens: map[string]bool{}, orders: map[string]*Order{}, byPayment: map[string]*Order{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", s.token)
	mux.HandleFunc("GET /v1/notifications/certs/{name}", s.cert)
	mux.HandleFunc("POST /v1/notifications/verify-webhook-signature", s.bearer(s.verify))
	mux.HandleFunc("POST /v2/checkout/orders", s.bearer(s.create))
	mux.HandleFunc("GET /v2/checkout/orders/{id}", s.bearer(s.get))
	mux.HandleFunc("POST /v2/checkout/orders/{id}/capture", s.bearer(s.captureOrder))
	mux.HandleFunc("POST /v2/checkout/orders/{id}/authorize", s.bearer(s.authorizeOrder))
	mux.HandleFunc("POST /v2/payments/authorizations/{id}/capture", s.bearer(s.captureAuth))
	mux.HandleFunc("POST /v2/payments/authorizations/{id}/void", s.bearer(s.voidAuth))
	mux.HandleFunc("POST /v2/payments/captures/{id}/refund", s.bearer(s.refund))
	s.Server = httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

// SetWebhookKey serves certPEM at /v1/notifications/certs/* and makes
// verify-webhook-signature check signatures with pub for webhookID.
func (s *Server) SetWebhookKey(certPEM []byte, pub *rsa.PublicKey, webhookID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certPEM, s.verifyKey, s.webhookID = certPEM, pub, webhookID
}

// Approve simulates the shopper approving order id at PayPal.
func (s *Server) Approve(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok || o.Status != "CREATED" {
		return fmt.Errorf("paypalfake: order %q is not approvable", id)
	}
	o.Status = "APPROVED"
	return nil
}

// Pay simulates a finished payment: the shopper approves order id and, for
// a CAPTURE order, the capture Fulfill makes on approval completes (PayPal
// itself never captures without that call). An AUTHORIZE order stays
// APPROVED for Capture to authorize and capture.
func (s *Server) Pay(id string) error {
	if err := s.Approve(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	if o.Intent == "CAPTURE" {
		o.Status, o.Capture = "COMPLETED", &Payment{ID: strings.ToUpper(randHex(9))[:17], Status: "COMPLETED"}
		s.byPayment[o.Capture.ID] = o
	}
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
	c.Amount = maps.Clone(o.Amount)
	for _, p := range []**Payment{&c.Auth, &c.Capture} {
		if *p != nil {
			cp := **p
			*p = &cp
		}
	}
	return c, true
}

// ExpireTokens makes every issued token invalid, as PayPal does on expiry.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.clientID || secret != s.secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	s.TokenFetches.Add(1)
	tok := "A21AA" + randHex(16)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"scope": "https://uri.paypal.com/services/payments", "access_token": tok,
		"token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": randHex(8)})
}

func (s *Server) cert(w http.ResponseWriter, _ *http.Request) {
	s.CertFetches.Add(1)
	s.mu.Lock()
	pem := s.certPEM
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pem)
}

func (s *Server) bearer(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Token signature verification failed"})
			return
		}
		if r.Method == http.MethodPost && r.ContentLength > 0 && r.Header.Get("Content-Type") != "application/json" {
			ppError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "")
			return
		}
		next(w, r)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Intent        string `json:"intent"`
		PurchaseUnits []struct {
			CustomID string            `json:"custom_id"`
			Amount   map[string]string `json:"amount"`
		} `json:"purchase_units"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.PurchaseUnits) != 1 {
		ppError(w, http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON")
		return
	}
	if in.Intent != "CAPTURE" && in.Intent != "AUTHORIZE" {
		ppError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE")
		return
	}
	pu := in.PurchaseUnits[0]
	if !decimal(pu.Amount["value"]) || len(pu.Amount["currency_code"]) != 3 {
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")
		return
	}
	o := &Order{ID: strings.ToUpper(randHex(9))[:17], Intent: in.Intent, Status: "CREATED", CustomID: pu.CustomID, Amount: pu.Amount}
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
	s.writeOrder(w, http.StatusCreated, o)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.find(w, r.PathValue("id")); o != nil {
		s.writeOrder(w, http.StatusOK, o)
	}
}

func (s *Server) captureOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.find(w, r.PathValue("id"))
	switch {
	case o == nil:
	case o.Intent != "CAPTURE":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ACTION_DOES_NOT_MATCH_INTENT")
	case o.Status == "COMPLETED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
	case o.Status != "APPROVED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
	default:
		o.Status, o.Capture = "COMPLETED", &Payment{ID: strings.ToUpper(randHex(9))[:17], Status: "COMPLETED"}
		s.byPayment[o.Capture.ID] = o
		s.writeOrder(w, http.StatusCreated, o)
	}
}

func (s *Server) authorizeOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.find(w, r.PathValue("id"))
	switch {
	case o == nil:
	case o.Intent != "AUTHORIZE":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ACTION_DOES_NOT_MATCH_INTENT")
	case o.Status == "COMPLETED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_AUTHORIZED")
	case o.Status != "APPROVED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
	default:
		o.Status, o.Auth = "COMPLETED", &Payment{ID: strings.ToUpper(randHex(9))[:17], Status: "CREATED"}
		s.byPayment[o.Auth.ID] = o
		s.writeOrder(w, http.StatusCreated, o)
	}
}

func (s *Server) captureAuth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.payment(w, r.PathValue("id"))
	switch {
	case o == nil:
	case o.Auth.Status == "CAPTURED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_ALREADY_CAPTURED")
	case o.Auth.Status == "VOIDED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_VOIDED")
	default:
		o.Auth.Status, o.Capture = "CAPTURED", &Payment{ID: strings.ToUpper(randHex(9))[:17], Status: "COMPLETED"}
		s.byPayment[o.Capture.ID] = o
		writeJSON(w, http.StatusCreated, map[string]string{"id": o.Capture.ID, "status": "COMPLETED"})
	}
}

func (s *Server) voidAuth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.payment(w, r.PathValue("id"))
	switch {
	case o == nil:
	case o.Auth.Status != "CREATED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "PREVIOUSLY_VOIDED")
	default:
		o.Auth.Status = "VOIDED"
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.payment(w, r.PathValue("id"))
	switch {
	case o == nil:
	case o.Capture == nil || o.Capture.ID != r.PathValue("id"):
		ppError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
	case o.Capture.Status == "REFUNDED":
		ppError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
	default:
		o.Capture.Status = "PARTIALLY_REFUNDED"
		writeJSON(w, http.StatusCreated, map[string]string{"id": strings.ToUpper(randHex(9))[:17], "status": "COMPLETED"})
	}
}

// verify implements verify-webhook-signature with the key from
// SetWebhookKey.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TransmissionID   string          `json:"transmission_id"`
		TransmissionTime string          `json:"transmission_time"`
		TransmissionSig  string          `json:"transmission_sig"`
		WebhookID        string          `json:"webhook_id"`
		Event            json.RawMessage `json:"webhook_event"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		ppError(w, http.StatusBadRequest, "VALIDATION_ERROR", "INVALID_PARAMETER_SYNTAX")
		return
	}
	s.mu.Lock()
	pub, webhookID := s.verifyKey, s.webhookID
	s.mu.Unlock()
	msg := in.TransmissionID + "|" + in.TransmissionTime + "|" + in.WebhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(in.Event)), 10)
	sum := sha256.Sum256([]byte(msg))
	sig, err := base64.StdEncoding.DecodeString(in.TransmissionSig)
	status := "FAILURE"
	if err == nil && pub != nil && in.WebhookID == webhookID && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
		status = "SUCCESS"
	}
	writeJSON(w, http.StatusOK, map[string]string{"verification_status": status})
}

// find returns the order or writes PayPal's 404. The caller holds s.mu.
func (s *Server) find(w http.ResponseWriter, id string) *Order {
	o, ok := s.orders[id]
	if !ok {
		ppError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
		return nil
	}
	return o
}

// payment returns the order holding authorization or capture id, or
// writes PayPal's 404. The caller holds s.mu.
func (s *Server) payment(w http.ResponseWriter, id string) *Order {
	o, ok := s.byPayment[id]
	if !ok {
		ppError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
		return nil
	}
	return o
}

func (s *Server) writeOrder(w http.ResponseWriter, status int, o *Order) {
	payments := map[string]any{}
	if o.Auth != nil {
		payments["authorizations"] = []any{map[string]string{"id": o.Auth.ID, "status": o.Auth.Status}}
	}
	if o.Capture != nil {
		payments["captures"] = []any{map[string]string{"id": o.Capture.ID, "status": o.Capture.Status}}
	}
	writeJSON(w, status, map[string]any{
		"id": o.ID, "intent": o.Intent, "status": o.Status,
		"purchase_units": []any{map[string]any{"reference_id": "default", "custom_id": o.CustomID, "amount": o.Amount, "payments": payments}},
		"links": []any{
			map[string]string{"href": s.URL + "/v2/checkout/orders/" + o.ID, "rel": "self", "method": "GET"},
			map[string]string{"href": "https://www.sandbox.paypal.com/checkoutnow?token=" + o.ID, "rel": "approve", "method": "GET"},
		},
	})
}

func ppError(w http.ResponseWriter, status int, name, issue string) {
	body := map[string]any{"name": name, "message": "The requested action could not be performed.", "debug_id": randHex(6)}
	if issue != "" {
		body["details"] = []any{map[string]string{"issue": issue, "description": issue}}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decimal(s string) bool {
	whole, frac, _ := strings.Cut(s, ".")
	return whole != "" && strings.Trim(whole, "0123456789") == "" && strings.Trim(frac, "0123456789") == "" && len(frac) <= 2
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Signer signs webhooks as PayPal does: SHA256withRSA over
// transmission_id|transmission_time|webhook_id|crc32(body), with a key
// whose self-signed certificate (CertPEM) stands in for PayPal's
// message-verification certificate (serve it with SetWebhookKey).
type Signer struct {
	Key     *rsa.PrivateKey
	CertPEM []byte
}

// NewSigner makes a 2048-bit key and a certificate valid around now.
func NewSigner(t testing.TB, now time.Time) *Signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "messageverificationcerts.sandbox.paypal.com"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Sign returns the transmission headers of body sent at at for webhookID,
// naming certURL as PAYPAL-CERT-URL.
func (s *Signer) Sign(t testing.TB, body []byte, certURL, webhookID string, at time.Time) http.Header {
	t.Helper()
	id := "b2384410-f8d2-11e8-8a4b-" + strconv.FormatInt(at.UnixNano()%1e12, 10)
	ts := at.UTC().Format(time.RFC3339)
	msg := id + "|" + ts + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(paypal.HeaderTransmissionID, id)
	h.Set(paypal.HeaderTransmissionTime, ts)
	h.Set(paypal.HeaderTransmissionSig, base64.StdEncoding.EncodeToString(sig))
	h.Set(paypal.HeaderCertURL, certURL)
	h.Set(paypal.HeaderAuthAlgo, "SHA256withRSA")
	h.Set("Content-Type", "application/json")
	return h
}
