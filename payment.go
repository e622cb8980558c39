package fulfill

import (
	"context"
	"net/http"
	"time"
)

// CaptureMode says when the money moves.
type CaptureMode string

// Capture modes. Automatic: the gateway captures when the shopper pays.
// Manual: the gateway only authorizes; Fulfill captures after stock is
// reserved, and voids when it can't be.
const (
	CaptureAutomatic CaptureMode = "automatic"
	CaptureManual    CaptureMode = "manual"
)

// Valid reports whether m is a known capture mode.
func (m CaptureMode) Valid() bool { return m == CaptureAutomatic || m == CaptureManual }

// IntentRequest asks a gateway for a payment intent for one order.
type IntentRequest struct {
	OrderID string
	Amount  Money
	Capture CaptureMode
	// Email of the shopper, for the gateway's receipts.
	Email string
	// IdempotencyKey is sent to gateways that support one, so that a retried
	// create never makes two intents.
	IdempotencyKey string
	Description    string
}

// Intent is a gateway's payment intent (Stripe PaymentIntent, Razorpay
// order, PayPal order). Exactly one of ClientSecret and ApprovalURL is what
// the shopper's browser needs to pay.
type Intent struct {
	Provider     string `json:"provider"`
	ID           string `json:"intent_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	ApprovalURL  string `json:"approval_url,omitempty"`
	Status       string `json:"status,omitempty"`
}

// PaymentEventType is a gateway event mapped to Fulfill's vocabulary.
type PaymentEventType string

// Payment event types. Unknown events are stored and shown to operators but
// change nothing.
const (
	PaymentSucceeded PaymentEventType = "payment.succeeded" // captured, or authorized in manual mode
	// PaymentAuthorized is an authorization from a gateway that sends one
	// for both capture modes (Razorpay's payment.authorized): it pays a
	// manual-capture order; for an automatic one the capture that follows
	// does.
	PaymentAuthorized PaymentEventType = "payment.authorized"
	// PaymentApproved says the shopper approved the payment at a gateway
	// where the merchant then completes it (PayPal's
	// CHECKOUT.ORDER.APPROVED): Fulfill completes it (Completer), and the
	// completion's own event pays the order.
	PaymentApproved   PaymentEventType = "payment.approved"
	PaymentFailed     PaymentEventType = "payment.failed"   // declined
	PaymentCanceled   PaymentEventType = "payment.canceled" // intent cancelled / voided
	PaymentRefunded   PaymentEventType = "payment.refunded" // money returned
	PaymentDisputed   PaymentEventType = "payment.disputed" // chargeback opened
	PaymentEventOther PaymentEventType = "other"            // anything else
)

// PaymentEvent is a verified, parsed gateway webhook.
type PaymentEvent struct {
	Provider string `json:"provider"`
	// EventID is the provider's unique event id; the inbox is unique on
	// (Provider, EventID), so a redelivery has no second effect.
	EventID string           `json:"event_id"`
	Type    PaymentEventType `json:"type"`
	// RawType is the provider's own name, such as payment_intent.succeeded.
	RawType  string `json:"raw_type"`
	IntentID string `json:"intent_id,omitempty"`
	// OrderID comes from the metadata the intent carried (Stripe
	// metadata.order_id, Razorpay notes.order_id, PayPal custom_id).
	OrderID string `json:"order_id,omitempty"`
	Amount  Money  `json:"amount"`
	// OccurredAt is the gateway's confirmation time; it orders the race for
	// stock among shoppers who paid at once.
	OccurredAt time.Time `json:"occurred_at"`
}

// Completer is a gateway whose payments the merchant completes once the
// shopper approved them (PayPal: capture an order of intent CAPTURE,
// authorize one of intent AUTHORIZE). Complete is idempotent: a payment
// already completed is left alone. ENotFound; EConflict when the shopper
// has not approved it.
type Completer interface {
	Complete(ctx context.Context, intentID string) error
}

// InTxGateway is a gateway whose intents live in Fulfill's own database
// (the sandbox): checkout opens the intent in the order's transaction, one
// commit instead of two, and a checkout that fails leaves no intent.
type InTxGateway interface {
	Gateway
	// CreateIntentTx is CreateIntent in tx.
	CreateIntentTx(ctx context.Context, tx Tx, req IntentRequest) (*Intent, error)
}

// Gateway is a payment provider. Every implementation passes the gateway
// contract suite; the real ones are tested against fake servers that speak
// their wire format.
type Gateway interface {
	// Name is the provider name used in URLs: sandbox, stripe, razorpay,
	// paypal.
	Name() string
	// CreateIntent opens a payment for an order. EUnavailable when the
	// gateway can't be reached; EInvalid when it refuses the request.
	CreateIntent(ctx context.Context, req IntentRequest) (*Intent, error)
	// Capture takes an authorized payment. ENotFound, EConflict when it is
	// not capturable.
	Capture(ctx context.Context, intentID string, amount Money) error
	// Void cancels an uncaptured authorization. ENotFound, EConflict.
	Void(ctx context.Context, intentID string) error
	// Refund returns money for a captured payment and gives the refund id.
	// ENotFound, EConflict.
	Refund(ctx context.Context, intentID string, amount Money, reason string) (string, error)
	// ParseWebhook verifies a webhook's signature over the raw body and
	// parses it. EUnauthenticated for a missing or bad signature or a stale
	// timestamp; EInvalid for a body that is not an event.
	ParseWebhook(ctx context.Context, header http.Header, body []byte) (*PaymentEvent, error)
}
