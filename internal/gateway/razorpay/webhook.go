package razorpay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// Webhook headers Razorpay sends.
const (
	SignatureHeader = "X-Razorpay-Signature"
	EventIDHeader   = "X-Razorpay-Event-Id"
)

// ParseWebhook verifies X-Razorpay-Signature (hex HMAC-SHA256 of the raw
// body) against every configured secret, then maps the event. The event id
// for deduplication is X-Razorpay-Event-Id. Razorpay signs no timestamp:
// redeliveries (Razorpay retries for up to a day) are caught by the event id.
// EUnauthenticated for a missing or bad signature; EInvalid for a body that
// is not a usable event.
func (g *Gateway) ParseWebhook(_ context.Context, header http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	if err := g.verify(header.Get(SignatureHeader), body); err != nil {
		return nil, err
	}
	id := header.Get(EventIDHeader)
	if id == "" {
		return nil, gwhttp.Invalid(Name, "has no X-Razorpay-Event-Id header", nil)
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, gwhttp.Invalid(Name, "body is not JSON", err)
	}
	return mapEvent(id, &ev)
}

func (g *Gateway) verify(sig string, body []byte) error {
	if sig == "" {
		return gwhttp.Unauthenticated(Name, "has no X-Razorpay-Signature header", nil)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return gwhttp.Unauthenticated(Name, "signature is not hex", nil)
	}
	for _, secret := range g.cfg.WebhookSecrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) {
			return nil
		}
	}
	return gwhttp.Unauthenticated(Name, "signature does not match", nil)
}

// notes is Razorpay's notes field: an object, or [] when empty (a PHP
// habit), so it is decoded leniently.
type notes map[string]string

// UnmarshalJSON accepts an object of strings, an empty array or null.
func (n *notes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		*n = nil
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*n = notes{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			(*n)[k] = s
		}
	}
	return nil
}

type entity struct {
	ID         string `json:"id"`
	Amount     int64  `json:"amount"`
	AmountPaid int64  `json:"amount_paid"`
	Currency   string `json:"currency"`
	Status     string `json:"status"`
	OrderID    string `json:"order_id"`
	PaymentID  string `json:"payment_id"`
	Notes      notes  `json:"notes"`
	CreatedAt  int64  `json:"created_at"`
}

type wrapped struct {
	Entity *entity `json:"entity"`
}

type event struct {
	Entity    string `json:"entity"`
	Event     string `json:"event"`
	CreatedAt int64  `json:"created_at"`
	Payload   struct {
		Payment wrapped `json:"payment"`
		Order   wrapped `json:"order"`
		Refund  wrapped `json:"refund"`
	} `json:"payload"`
}

// mapEvent maps a verified Razorpay event. The intent id is the Razorpay
// order id; Fulfill's order id comes from notes.order_id of the payment,
// else of the order or refund.
func mapEvent(id string, ev *event) (*fulfill.PaymentEvent, error) {
	if ev.Entity != "event" || ev.Event == "" {
		return nil, gwhttp.Invalid(Name, "body is not a Razorpay event", nil)
	}
	pe := &fulfill.PaymentEvent{Provider: Name, EventID: id, RawType: ev.Event, Type: fulfill.PaymentEventOther}
	p, o, r := ev.Payload.Payment.Entity, ev.Payload.Order.Entity, ev.Payload.Refund.Entity
	var main *entity
	switch ev.Event {
	case "payment.captured":
		pe.Type, main = fulfill.PaymentSucceeded, p
	case "payment.authorized": // sent in both capture modes; pays a manual one
		pe.Type, main = fulfill.PaymentAuthorized, p
	case "payment.failed":
		pe.Type, main = fulfill.PaymentFailed, p
	case "order.paid":
		pe.Type, main = fulfill.PaymentSucceeded, o
		if o != nil {
			o.OrderID, o.Amount = o.ID, max(o.AmountPaid, o.Amount)
		}
	case "refund.processed":
		pe.Type, main = fulfill.PaymentRefunded, r
	}
	if pe.Type != fulfill.PaymentEventOther && main == nil {
		return nil, gwhttp.Invalid(Name, ev.Event+" event has no entity", nil)
	}
	fill(pe, main, p, o, r)
	pe.OccurredAt = firstTime(ev.CreatedAt, main)
	if pe.OccurredAt.IsZero() {
		return nil, gwhttp.Invalid(Name, "event has no created_at", nil)
	}
	if pe.Type != fulfill.PaymentEventOther {
		if err := pe.Amount.Validate("amount"); err != nil {
			return nil, gwhttp.Invalid(Name, "event amount is malformed", err)
		}
	}
	return pe, nil
}

// fill copies the amount, intent and order ids from the entities present.
func fill(pe *fulfill.PaymentEvent, main *entity, all ...*entity) {
	if main != nil {
		pe.Amount = fulfill.Money{Amount: main.Amount, Currency: main.Currency}
	}
	for _, e := range all {
		if e == nil {
			continue
		}
		if pe.IntentID == "" {
			pe.IntentID = e.OrderID
		}
		if pe.OrderID == "" {
			pe.OrderID = e.Notes["order_id"]
		}
	}
}

func firstTime(eventTime int64, main *entity) time.Time {
	switch {
	case eventTime > 0:
		return time.Unix(eventTime, 0).UTC()
	case main != nil && main.CreatedAt > 0:
		return time.Unix(main.CreatedAt, 0).UTC()
	}
	return time.Time{}
}
