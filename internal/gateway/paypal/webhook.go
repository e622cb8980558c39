package paypal

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// Webhook headers PayPal sends.
const (
	HeaderTransmissionID   = "PAYPAL-TRANSMISSION-ID"
	HeaderTransmissionTime = "PAYPAL-TRANSMISSION-TIME"
	HeaderTransmissionSig  = "PAYPAL-TRANSMISSION-SIG"
	HeaderCertURL          = "PAYPAL-CERT-URL"
	HeaderAuthAlgo         = "PAYPAL-AUTH-ALGO"
)

// maxCert caps a fetched certificate file.
const maxCert = 64 << 10

type transmission struct {
	id, time, sig, certURL, algo string
}

// ParseWebhook checks the transmission headers and their freshness,
// verifies the signature (offline with PayPal's certificate, or online when
// VerifyOnline is set) and maps the event. EUnauthenticated for a missing or
// bad signature, a stale transmission time or a certificate URL off the
// allow-list; EUnavailable when the certificate or PayPal can't be reached;
// EInvalid for a body that is not an event.
func (g *Gateway) ParseWebhook(ctx context.Context, header http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	tr, err := g.transmission(header)
	if err != nil {
		return nil, err
	}
	if g.cfg.VerifyOnline {
		err = g.verifyOnline(ctx, tr, body)
	} else {
		err = g.verifyOffline(ctx, tr, body)
	}
	if err != nil {
		return nil, err
	}
	return parseEvent(body)
}

func (g *Gateway) transmission(h http.Header) (*transmission, error) {
	tr := &transmission{id: h.Get(HeaderTransmissionID), time: h.Get(HeaderTransmissionTime),
		sig: h.Get(HeaderTransmissionSig), certURL: h.Get(HeaderCertURL), algo: h.Get(HeaderAuthAlgo)}
	if tr.id == "" || tr.time == "" || tr.sig == "" || tr.certURL == "" {
		return nil, gwhttp.Unauthenticated(Name, "is missing a PAYPAL-TRANSMISSION-* or PAYPAL-CERT-URL header", nil)
	}
	if tr.algo != "" && tr.algo != "SHA256withRSA" {
		return nil, gwhttp.Unauthenticated(Name, "uses an unsupported PAYPAL-AUTH-ALGO", nil)
	}
	at, err := time.Parse(time.RFC3339, tr.time)
	if err != nil {
		return nil, gwhttp.Unauthenticated(Name, "has a malformed PAYPAL-TRANSMISSION-TIME", err)
	}
	if d := g.clock.Now().Sub(at); d > g.cfg.Tolerance || d < -g.cfg.Tolerance {
		return nil, gwhttp.Unauthenticated(Name, "transmission time is outside the tolerance window", nil)
	}
	return tr, nil
}

// verifyOffline checks SHA256withRSA over id|time|webhook_id|crc32(body).
func (g *Gateway) verifyOffline(ctx context.Context, tr *transmission, body []byte) error {
	sig, err := base64.StdEncoding.DecodeString(tr.sig)
	if err != nil {
		return gwhttp.Unauthenticated(Name, "signature is not base64", err)
	}
	cert, err := g.certificate(ctx, tr.certURL)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return gwhttp.Unauthenticated(Name, "certificate has no RSA key", nil)
	}
	if now := g.clock.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return gwhttp.Unauthenticated(Name, "certificate is not valid now", nil)
	}
	msg := tr.id + "|" + tr.time + "|" + g.cfg.WebhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return gwhttp.Unauthenticated(Name, "signature does not match", err)
	}
	return nil
}

// certificate returns the certificate at raw, fetching it once: only over
// https, only from an allow-listed host (checked before any request is made).
func (g *Gateway) certificate(ctx context.Context, raw string) (*x509.Certificate, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || !g.hosts[strings.ToLower(u.Hostname())] {
		return nil, gwhttp.Unauthenticated(Name, "certificate URL is not on the allow-list", err)
	}
	// Holding the lock across the fetch means one fetch per URL even when
	// many webhooks arrive at once; it happens once per certificate.
	g.certMu.Lock()
	defer g.certMu.Unlock()
	if c, ok := g.certs[raw]; ok && g.clock.Now().Before(c.NotAfter) {
		return c, nil
	}
	c, err := g.fetchCert(ctx, u.String())
	if err != nil {
		return nil, err
	}
	g.certs[raw] = c
	return c, nil
}

func (g *Gateway) fetchCert(ctx context.Context, u string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, gwhttp.Unauthenticated(Name, "certificate URL is malformed", err)
	}
	resp, err := g.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, &fulfill.Error{Code: fulfill.EUnavailable, Message: "paypal certificate could not be fetched", Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCert))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, &fulfill.Error{Code: fulfill.EUnavailable, Message: "paypal certificate could not be fetched", Err: err}
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, gwhttp.Unauthenticated(Name, "certificate is not PEM", nil)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, gwhttp.Unauthenticated(Name, "certificate does not parse", err)
	}
	return c, nil
}

// verifyOnline asks PayPal to check the signature. The event is sent as the
// raw body so that PayPal sees exactly what it signed.
func (g *Gateway) verifyOnline(ctx context.Context, tr *transmission, body []byte) error {
	if !json.Valid(body) {
		return gwhttp.Unauthenticated(Name, "body can't be verified: not JSON", nil)
	}
	req := map[string]any{
		"auth_algo": gwhttp.NonEmpty(tr.algo, "SHA256withRSA"), "cert_url": tr.certURL, "transmission_id": tr.id,
		"transmission_sig": tr.sig, "transmission_time": tr.time, "webhook_id": g.cfg.WebhookID,
		"webhook_event": json.RawMessage(body),
	}
	var out struct {
		Status string `json:"verification_status"`
	}
	if err := g.call(ctx, http.MethodPost, "/v1/notifications/verify-webhook-signature", req, "", &out); err != nil {
		if fulfill.IsCode(err, fulfill.EUnavailable) {
			return err
		}
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: "paypal could not verify the webhook", Err: err}
	}
	if out.Status != "SUCCESS" {
		return gwhttp.Unauthenticated(Name, "signature was refused by paypal", nil)
	}
	return nil
}

type resource struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	CustomID          string `json:"custom_id"`
	Amount            *money `json:"amount"`
	SupplementaryData struct {
		RelatedIDs struct {
			OrderID string `json:"order_id"`
		} `json:"related_ids"`
	} `json:"supplementary_data"`
	PurchaseUnits []struct {
		CustomID string `json:"custom_id"`
		Amount   *money `json:"amount"`
	} `json:"purchase_units"`
}

type event struct {
	ID         string          `json:"id"`
	EventType  string          `json:"event_type"`
	CreateTime string          `json:"create_time"`
	Resource   json.RawMessage `json:"resource"`
}

// eventTypes maps PayPal event types to Fulfill's. AUTHORIZATION.CREATED is
// the manual-capture authorization, which Fulfill treats as paid.
func eventType(t string) fulfill.PaymentEventType {
	switch t {
	case "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.AUTHORIZATION.CREATED":
		return fulfill.PaymentSucceeded
	case "PAYMENT.CAPTURE.DENIED":
		return fulfill.PaymentFailed
	case "PAYMENT.CAPTURE.REFUNDED":
		return fulfill.PaymentRefunded
	case "PAYMENT.AUTHORIZATION.VOIDED":
		return fulfill.PaymentCanceled
	case "CHECKOUT.ORDER.APPROVED":
		return fulfill.PaymentApproved
	}
	return fulfill.PaymentEventOther
}

// parseEvent maps a verified PayPal event. The order id is custom_id (of
// the resource, or of the first purchase unit for an order resource).
func parseEvent(body []byte) (*fulfill.PaymentEvent, error) {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, gwhttp.Invalid(Name, "body is not JSON", err)
	}
	if ev.ID == "" || ev.EventType == "" {
		return nil, gwhttp.Invalid(Name, "body is not a PayPal event", nil)
	}
	at, err := time.Parse(time.RFC3339, ev.CreateTime)
	if err != nil {
		return nil, gwhttp.Invalid(Name, "event create_time is malformed", err)
	}
	pe := &fulfill.PaymentEvent{Provider: Name, EventID: ev.ID, RawType: ev.EventType, Type: eventType(ev.EventType), OccurredAt: at.UTC()}
	var r resource
	if len(ev.Resource) > 0 {
		if err := json.Unmarshal(ev.Resource, &r); err != nil {
			return nil, gwhttp.Invalid(Name, "event resource is malformed", err)
		}
	}
	if err := fill(pe, &r, strings.HasPrefix(ev.EventType, "CHECKOUT.ORDER.")); err != nil {
		return nil, err
	}
	return pe, nil
}

func fill(pe *fulfill.PaymentEvent, r *resource, isOrder bool) error {
	amount := r.Amount
	pe.OrderID, pe.IntentID = r.CustomID, r.SupplementaryData.RelatedIDs.OrderID
	if isOrder {
		pe.IntentID = r.ID
		if len(r.PurchaseUnits) > 0 {
			pe.OrderID, amount = r.PurchaseUnits[0].CustomID, r.PurchaseUnits[0].Amount
		}
	}
	if amount == nil {
		if pe.Type != fulfill.PaymentEventOther {
			return gwhttp.Invalid(Name, pe.RawType+" event has no amount", nil)
		}
		return nil
	}
	m, err := fromDecimal(amount.Value, amount.CurrencyCode)
	if err != nil {
		if pe.Type != fulfill.PaymentEventOther {
			return gwhttp.Invalid(Name, "event amount is malformed", err)
		}
		return nil
	}
	pe.Amount = m
	return nil
}
