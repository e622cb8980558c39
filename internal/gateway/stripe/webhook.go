package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// SignatureHeader carries Stripe's webhook signature: t=<unix>,v1=<hex>….
const SignatureHeader = "Stripe-Signature"

// ParseWebhook verifies the Stripe-Signature header against every
// configured secret (HMAC-SHA256 over "t.body", any v1 accepted) with the
// timestamp checked against the injected clock, then maps the event.
// EUnauthenticated for a missing or bad signature or a stale timestamp;
// EInvalid for a verified body that is not a usable event.
func (g *Gateway) ParseWebhook(_ context.Context, header http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	sig := header.Get(SignatureHeader)
	if sig == "" {
		return nil, gwhttp.Unauthenticated(Name, "has no Stripe-Signature header", nil)
	}
	if err := g.checkTimestamp(sig); err != nil {
		return nil, err
	}
	ev, err := g.construct(body, sig)
	if err != nil {
		return nil, err
	}
	return mapEvent(ev)
}

// checkTimestamp applies the tolerance with our clock: stripe-go's own
// check uses time.Now, which tests can't move, so it is switched off below.
func (g *Gateway) checkTimestamp(sig string) error {
	var ts int64
	found := false
	for _, pair := range strings.Split(sig, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if ok && k == "t" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return gwhttp.Unauthenticated(Name, "has a malformed Stripe-Signature timestamp", err)
			}
			ts, found = n, true
		}
	}
	if !found {
		return gwhttp.Unauthenticated(Name, "has no Stripe-Signature timestamp", nil)
	}
	age := g.clock.Now().Sub(time.Unix(ts, 0))
	if age > g.cfg.Tolerance || age < -g.cfg.Tolerance {
		return gwhttp.Unauthenticated(Name, "timestamp is outside the tolerance window", nil)
	}
	return nil
}

// construct tries each secret; only a signature mismatch moves on to the
// next one. Any other failure after the signature held (JSON, a thin
// event, an API version mismatch) means the body is not a usable event.
func (g *Gateway) construct(body []byte, sig string) (stripego.Event, error) {
	opts := webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: g.cfg.IgnoreAPIVersionMismatch}
	for _, secret := range g.cfg.WebhookSecrets {
		ev, err := webhook.ConstructEventWithOptions(body, sig, secret, opts)
		switch {
		case err == nil:
			return ev, nil
		case errors.Is(err, webhook.ErrNoValidSignature):
			continue
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrTooOld):
			return ev, gwhttp.Unauthenticated(Name, "has a malformed Stripe-Signature header", err)
		default:
			return ev, gwhttp.Invalid(Name, "body is not a Stripe event", err)
		}
	}
	return stripego.Event{}, gwhttp.Unauthenticated(Name, "signature does not match", webhook.ErrNoValidSignature)
}

// mapEvent turns a verified Stripe event into a PaymentEvent.
func mapEvent(ev stripego.Event) (*fulfill.PaymentEvent, error) {
	if ev.ID == "" || ev.Type == "" {
		return nil, gwhttp.Invalid(Name, "event has no id or type", nil)
	}
	pe := &fulfill.PaymentEvent{
		Provider: Name, EventID: ev.ID, RawType: string(ev.Type), Type: fulfill.PaymentEventOther,
		OccurredAt: time.Unix(ev.Created, 0).UTC(),
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return nil, gwhttp.Invalid(Name, "event has no data.object", nil)
	}
	var err error
	switch ev.Type {
	case "payment_intent.succeeded", "payment_intent.amount_capturable_updated",
		"payment_intent.payment_failed", "payment_intent.canceled":
		err = fromIntent(pe, ev.Data.Raw)
	case "charge.refunded":
		err = fromCharge(pe, ev.Data.Raw)
	case "charge.dispute.created":
		err = fromDispute(pe, ev.Data.Raw)
	default:
		return pe, nil
	}
	if err != nil {
		return nil, err
	}
	return pe, nil
}

func decode(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return gwhttp.Invalid(Name, "data.object is malformed", err)
	}
	return nil
}

func setAmount(pe *fulfill.PaymentEvent, amount int64, currency stripego.Currency) error {
	pe.Amount = fulfill.Money{Amount: amount, Currency: strings.ToUpper(string(currency))}
	if err := pe.Amount.Validate("amount"); err != nil {
		return gwhttp.Invalid(Name, "event amount is malformed", err)
	}
	return nil
}

// fromIntent maps payment_intent.* events. amount_capturable_updated with
// status requires_capture is the authorization of a manual-capture intent,
// which Fulfill treats as paid (it captures after reserving stock).
func fromIntent(pe *fulfill.PaymentEvent, raw json.RawMessage) error {
	var pi stripego.PaymentIntent
	if err := decode(raw, &pi); err != nil {
		return err
	}
	pe.IntentID, pe.OrderID = pi.ID, pi.Metadata["order_id"]
	amount := pi.Amount
	switch pe.RawType {
	case "payment_intent.succeeded":
		pe.Type = fulfill.PaymentSucceeded
		if pi.AmountReceived > 0 {
			amount = pi.AmountReceived
		}
	case "payment_intent.amount_capturable_updated":
		if pi.Status == stripego.PaymentIntentStatusRequiresCapture {
			pe.Type, amount = fulfill.PaymentSucceeded, pi.AmountCapturable
		}
	case "payment_intent.payment_failed":
		pe.Type = fulfill.PaymentFailed
	case "payment_intent.canceled":
		pe.Type = fulfill.PaymentCanceled
	}
	return setAmount(pe, amount, pi.Currency)
}

// fromCharge maps charge.refunded; the amount is the charge's cumulative
// amount_refunded (Stripe no longer embeds the refund list by default).
func fromCharge(pe *fulfill.PaymentEvent, raw json.RawMessage) error {
	var ch stripego.Charge
	if err := decode(raw, &ch); err != nil {
		return err
	}
	pe.Type, pe.OrderID = fulfill.PaymentRefunded, ch.Metadata["order_id"]
	if ch.PaymentIntent != nil {
		pe.IntentID = ch.PaymentIntent.ID
	}
	return setAmount(pe, ch.AmountRefunded, ch.Currency)
}

// fromDispute maps charge.dispute.created. Disputes carry no order
// metadata; the order is found through the intent id.
func fromDispute(pe *fulfill.PaymentEvent, raw json.RawMessage) error {
	var d stripego.Dispute
	if err := decode(raw, &d); err != nil {
		return err
	}
	pe.Type, pe.OrderID = fulfill.PaymentDisputed, d.Metadata["order_id"]
	if d.PaymentIntent != nil {
		pe.IntentID = d.PaymentIntent.ID
	}
	return setAmount(pe, d.Amount, d.Currency)
}
