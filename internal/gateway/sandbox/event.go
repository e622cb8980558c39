package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
	stripego "github.com/stripe/stripe-go/v85"
)

// SignatureHeader carries the signature, in Stripe's scheme:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">.
const SignatureHeader = "Stripe-Signature"

// APIVersion is the Stripe API version the sandbox's events are rendered
// with: stripe-go's own, so that stripe-go's verifier accepts them too.
const APIVersion = stripego.APIVersion

// event is a webhook event in Stripe's JSON shape.
type event struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	APIVersion string    `json:"api_version"`
	Created    int64     `json:"created"`
	Livemode   bool      `json:"livemode"`
	Type       string    `json:"type"`
	Data       eventData `json:"data"`
}

type eventData struct {
	Object json.RawMessage `json:"object"`
}

// object is the part of a payment_intent or charge object the sandbox
// writes and reads.
type object struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Amount           int64             `json:"amount"`
	AmountReceived   int64             `json:"amount_received,omitempty"`
	AmountCapturable int64             `json:"amount_capturable,omitempty"`
	AmountRefunded   int64             `json:"amount_refunded,omitempty"`
	Currency         string            `json:"currency"`
	Status           string            `json:"status,omitempty"`
	CaptureMethod    string            `json:"capture_method,omitempty"`
	PaymentIntent    string            `json:"payment_intent,omitempty"`
	Metadata         map[string]string `json:"metadata"`
}

// Event types the sandbox sends.
const (
	TypeSucceeded         = "payment_intent.succeeded"
	TypeAmountCapturable  = "payment_intent.amount_capturable_updated"
	TypePaymentFailed     = "payment_intent.payment_failed"
	TypeCanceled          = "payment_intent.canceled"
	TypeChargeRefunded    = "charge.refunded"
	objectPaymentIntent   = "payment_intent"
	objectCharge          = "charge"
	stripeStatusRequiresC = "requires_capture"
)

// newEvent wraps obj in an event of type typ created at at.
func newEvent(typ string, at time.Time, obj object) *event {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err) // a struct of strings, ints and a string map always marshals
	}
	return &event{
		ID: fulfill.NewID("evt_sbx", at), Object: "event", APIVersion: APIVersion,
		Created: at.Unix(), Type: typ, Data: eventData{Object: raw},
	}
}

// intentEvent renders a payment_intent.* event about si as it is now.
func (g *Gateway) intentEvent(si *fulfill.SandboxIntent, typ string) *event {
	obj := object{
		ID: si.ID, Object: objectPaymentIntent, Amount: si.Amount.Amount,
		Currency: strings.ToLower(si.Amount.Currency), Status: stripeStatus(si.Status),
		CaptureMethod: string(si.Capture), Metadata: map[string]string{"order_id": si.OrderID},
	}
	switch typ {
	case TypeSucceeded:
		obj.AmountReceived = si.Amount.Amount
	case TypeAmountCapturable:
		obj.AmountCapturable = si.Amount.Amount
	}
	return newEvent(typ, g.clock.Now(), obj)
}

// chargeRefunded renders charge.refunded with the cumulative refund.
func (g *Gateway) chargeRefunded(si *fulfill.SandboxIntent) *event {
	return newEvent(TypeChargeRefunded, g.clock.Now(), object{
		ID: "ch_" + strings.TrimPrefix(si.ID, "pi_"), Object: objectCharge, Amount: si.Amount.Amount,
		AmountRefunded: si.Refunded, Currency: strings.ToLower(si.Amount.Currency), PaymentIntent: si.ID,
		Metadata: map[string]string{"order_id": si.OrderID},
	})
}

// stripeStatus names a sandbox status as Stripe names a PaymentIntent's.
func stripeStatus(s string) string {
	switch s {
	case StatusAuthorized:
		return stripeStatusRequiresC
	case StatusFailed, StatusRequiresPayment:
		return "requires_payment_method"
	case StatusRefunded:
		return StatusSucceeded
	}
	return s
}

// Sign returns the Stripe-Signature header value for body signed with
// secret at t: t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ParseWebhook verifies the Stripe-Signature header with the sandbox's
// secret (any matching v1 accepted, constant-time compare, the timestamp
// within the tolerance of the gateway's clock) and maps the event.
// EUnauthenticated for a missing or bad signature or a stale timestamp;
// EInvalid for a verified body that is not a usable event.
func (g *Gateway) ParseWebhook(_ context.Context, header http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	if err := g.verify(header.Get(SignatureHeader), body); err != nil {
		return nil, err
	}
	return parseEvent(body)
}

// verify checks a Stripe-Signature header against body.
func (g *Gateway) verify(sig string, body []byte) error {
	if sig == "" {
		return gwhttp.Unauthenticated(Name, "has no Stripe-Signature header", nil)
	}
	var ts string
	var v1s [][]byte
	for _, pair := range strings.Split(sig, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				v1s = append(v1s, b)
			}
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return gwhttp.Unauthenticated(Name, "has no valid Stripe-Signature timestamp", err)
	}
	if age := g.clock.Now().Sub(time.Unix(n, 0)); age > g.cfg.Tolerance || age < -g.cfg.Tolerance {
		return gwhttp.Unauthenticated(Name, "timestamp is outside the tolerance window", nil)
	}
	want := mac(g.cfg.WebhookSecret, ts, body)
	for _, v1 := range v1s {
		if hmac.Equal(v1, want) {
			return nil
		}
	}
	return gwhttp.Unauthenticated(Name, "signature does not match", nil)
}

// wireEvent is an event as parsed: the object decoded in the same pass.
type wireEvent struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Type    string `json:"type"`
	Data    struct {
		Object *object `json:"object"`
	} `json:"data"`
}

// parseEvent maps a verified sandbox event to a PaymentEvent.
func parseEvent(body []byte) (*fulfill.PaymentEvent, error) {
	var ev wireEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, gwhttp.Invalid(Name, "body is not a sandbox event", err)
	}
	if ev.ID == "" || ev.Type == "" || ev.Object != "event" || ev.Created <= 0 || ev.Data.Object == nil {
		return nil, gwhttp.Invalid(Name, "event lacks id, type, created or data.object", nil)
	}
	pe := &fulfill.PaymentEvent{
		Provider: Name, EventID: ev.ID, RawType: ev.Type, Type: fulfill.PaymentEventOther,
		OccurredAt: time.Unix(ev.Created, 0).UTC(),
	}
	amount := mapType(pe, ev.Data.Object)
	if pe.Type == fulfill.PaymentEventOther {
		return pe, nil
	}
	pe.Amount = fulfill.Money{Amount: amount, Currency: strings.ToUpper(ev.Data.Object.Currency)}
	if err := pe.Amount.Validate("amount"); err != nil {
		return nil, gwhttp.Invalid(Name, "event amount is malformed", err)
	}
	return pe, nil
}

// mapType sets the event's type, intent and order from its object and
// returns the amount that counts for that type.
func mapType(pe *fulfill.PaymentEvent, obj *object) int64 {
	pe.OrderID, pe.IntentID = obj.Metadata["order_id"], obj.ID
	switch pe.RawType {
	case TypeSucceeded:
		pe.Type = fulfill.PaymentSucceeded
		if obj.AmountReceived > 0 {
			return obj.AmountReceived
		}
	case TypeAmountCapturable:
		if obj.Status == stripeStatusRequiresC {
			pe.Type = fulfill.PaymentSucceeded
			return obj.AmountCapturable
		}
	case TypePaymentFailed:
		pe.Type = fulfill.PaymentFailed
	case TypeCanceled:
		pe.Type = fulfill.PaymentCanceled
	case TypeChargeRefunded:
		pe.Type, pe.IntentID = fulfill.PaymentRefunded, obj.PaymentIntent
		return obj.AmountRefunded
	}
	return obj.Amount
}

// SucceededEventJSON renders the payment_intent.succeeded event the
// sandbox sends when intentID (of orderID, for amount) is paid under
// automatic capture, with event id eventID created at at. The load
// generator uses it to play the sandbox at a high rate.
func SucceededEventJSON(eventID, intentID, orderID string, amount fulfill.Money, at time.Time) []byte {
	ev := newEvent(TypeSucceeded, at, object{
		ID: intentID, Object: objectPaymentIntent, Amount: amount.Amount, AmountReceived: amount.Amount,
		Currency: strings.ToLower(amount.Currency), Status: StatusSucceeded, CaptureMethod: string(fulfill.CaptureAutomatic),
		Metadata: map[string]string{"order_id": orderID},
	})
	ev.ID = eventID
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // strings, ints and raw JSON always marshal
	}
	return b
}
