package fulfill

import (
	"context"
	"encoding/json"
	"time"
)

// NotificationEvent names what happened that someone is told about: the
// shopper (order events) or the merchant (stock, payment and shipment
// events).
type NotificationEvent string

// Notification events queued by the pipeline's stages.
const (
	EventOrderPaid          NotificationEvent = "order.paid"
	EventOrderPaymentFailed NotificationEvent = "order.payment_failed"
	EventOrderException     NotificationEvent = "order.exception"
	EventOrderReserved      NotificationEvent = "order.reserved"
	EventOrderOutOfStock    NotificationEvent = "order.cancelled.out_of_stock"
	EventOrderCancelled     NotificationEvent = "order.cancelled"
	EventOrderRefunded      NotificationEvent = "order.refunded"
	EventOrderBackordered   NotificationEvent = "order.backordered"
	EventPaymentDisputed    NotificationEvent = "payment.disputed"
	EventPaymentRefunded    NotificationEvent = "payment.refunded"
	EventPaymentVoided      NotificationEvent = "payment.voided"
	EventStockLow           NotificationEvent = "stock.low"
)

// Notification is a customer- or merchant-visible event queued for the
// notification stage, written in the transaction of the change it tells
// of. DedupeKey is unique: the same event is queued once however often the
// stage that raised it runs.
type Notification struct {
	ID        string            `json:"id"`
	OrderID   string            `json:"order_id,omitempty"`
	Event     NotificationEvent `json:"event"`
	DedupeKey string            `json:"dedupe_key"`
	Payload   []byte            `json:"payload"`
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
}

// Channel is a way of telling someone.
type Channel string

// Channels.
const (
	ChannelEmail   Channel = "email"
	ChannelSMS     Channel = "sms"
	ChannelWebhook Channel = "webhook"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	return c == ChannelEmail || c == ChannelSMS || c == ChannelWebhook
}

// Message is one rendered notification for one channel and recipient.
type Message struct {
	// DedupeKey identifies the message across retries (an email's
	// Message-ID is derived from it), so that a receiver can drop a
	// second delivery.
	DedupeKey string
	Event     NotificationEvent
	Channel   Channel
	// To is an email address or a phone number in E.164 form.
	To string
	// Subject is an email's subject.
	Subject string
	// Text is the plain-text body (the whole of an SMS).
	Text string
	// HTML is an email's HTML part.
	HTML string
}

// Notifier sends messages of one channel: SMTP for email, an HTTP
// provider for SMS, or the embedded default's outbox folder. Every
// implementation passes the notifier contract suite
// (internal/notify/notifytest).
type Notifier interface {
	// Channel is the channel the notifier sends on.
	Channel() Channel
	// Send delivers m once. EUnavailable when the provider can't be
	// reached or asks to retry later (the caller retries with backoff);
	// EUnprocessable when it refused the message for good (a hard reject,
	// an invalid number): the caller falls back to another channel where
	// allowed.
	Send(ctx context.Context, m Message) error
}

// OrderEvent is an event published to other systems (merchant webhooks,
// Redis Streams, NATS JetStream). ID is stable across retries, for
// consumers to drop duplicates.
type OrderEvent struct {
	ID      string            `json:"id"`
	Type    NotificationEvent `json:"type"`
	Created time.Time         `json:"created"`
	Data    json.RawMessage   `json:"data"`
}

// EventPublisher publishes order events to a stream, at least once.
type EventPublisher interface {
	// Publish appends ev to the stream. EUnavailable (the caller retries).
	Publish(ctx context.Context, ev OrderEvent) error
	// Close releases the connection.
	Close() error
}
