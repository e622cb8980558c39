package fulfill

import (
	"context"
	"time"
)

// IdempotencyState is where an idempotent request is.
type IdempotencyState string

// Idempotency states: in flight (the first request is being served) or done
// (its response is stored for replay).
const (
	IdemInFlight IdempotencyState = "in_flight"
	IdemDone     IdempotencyState = "done"
)

// IdempotencyRecord remembers one mutating API call by its Idempotency-Key,
// scoped to the API key that made it. (Scope, Key) is unique in the
// database, so two racing requests cannot both begin.
type IdempotencyRecord struct {
	Scope       string
	Key         string
	Method      string
	Path        string
	RequestHash string
	State       IdempotencyState
	StatusCode  int
	Body        []byte
	CreatedAt   time.Time
	// LockedUntil bounds an in-flight record left by a crashed request;
	// after it a retry may take the key over.
	LockedUntil time.Time
}

// WebhookStatus is where a received webhook event is in its processing.
type WebhookStatus string

// Webhook event statuses.
const (
	WebhookReceived  WebhookStatus = "received"  // stored, job queued
	WebhookProcessed WebhookStatus = "processed" // had its effect
	WebhookIgnored   WebhookStatus = "ignored"   // valid but nothing to do (unknown order or type, duplicate effect)
	WebhookFailed    WebhookStatus = "failed"    // processing failed; see Error, replayable
)

// Valid reports whether s is a known webhook status.
func (s WebhookStatus) Valid() bool {
	switch s {
	case WebhookReceived, WebhookProcessed, WebhookIgnored, WebhookFailed:
		return true
	}
	return false
}

// WebhookEvent is a verified gateway event in the inbox. (Provider,
// EventID) is unique, so a redelivered event is stored once.
type WebhookEvent struct {
	ID          string           `json:"id"`
	Provider    string           `json:"provider"`
	EventID     string           `json:"event_id"`
	Type        PaymentEventType `json:"type"`
	RawType     string           `json:"raw_type"`
	OrderID     string           `json:"order_id,omitempty"`
	IntentID    string           `json:"intent_id,omitempty"`
	Amount      Money            `json:"amount"`
	OccurredAt  time.Time        `json:"occurred_at"`
	Payload     []byte           `json:"-"`
	Status      WebhookStatus    `json:"status"`
	Error       string           `json:"error,omitempty"`
	Attempts    int              `json:"attempts"`
	ReceivedAt  time.Time        `json:"received_at"`
	ProcessedAt *time.Time       `json:"processed_at,omitempty"`
}

// A WebhookInbox is a Store whose webhook inbox commits apart from its
// other writes (SQLite: a file of its own with its own writer), so that
// acknowledging a webhook never waits for the pipeline's transactions.
// Events stored there join the store's events, status received, when a
// transaction calls Tx.ReceivedWebhookEvents, exactly once; until then
// Tx.GetWebhookEvent and Tx.ListWebhookEvents show them as received. The
// caller makes sure that the payment stage runs after a store (nothing
// is enqueued with the events).
type WebhookInbox interface {
	// StoreWebhookEvents stores each event unless its (Provider, EventID)
	// is in the inbox already, all in one transaction, and reports which it
	// inserted. It fills an empty ID, Status (received) and ReceivedAt; a
	// duplicate gets the stored event's ID.
	StoreWebhookEvents(ctx context.Context, evs []*WebhookEvent) ([]bool, error)
	// WebhookBacklog reports whether stored events wait to join the
	// store's (after a restart, the payment stage must run).
	WebhookBacklog(ctx context.Context) (bool, error)
}

// WebhookFilter selects inbox events, newest first; Page.After is an event
// id.
type WebhookFilter struct {
	Status   WebhookStatus
	Provider string
	Page     Page
}

// ReservationKind tells a firm reservation from a checkout hold.
type ReservationKind string

// Reservation kinds.
const (
	ReservationFirm ReservationKind = "reservation" // made at payment
	ReservationHold ReservationKind = "hold"        // soft hold at checkout, with a TTL
)

// Reservation is stock of one SKU in one bin promised to one order. The
// units are counted in the bin's reserved figure (through a MoveStock of
// kind reservation); this row says whose they are.
type Reservation struct {
	OrderID   string          `json:"order_id"`
	SKU       string          `json:"sku"`
	Warehouse string          `json:"warehouse"`
	Bin       string          `json:"bin"`
	Quantity  int64           `json:"quantity"`
	Kind      ReservationKind `json:"kind"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// OrderFilter selects orders. Orders list newest first; Page.After is an
// order id (ids sort by creation time).
type OrderFilter struct {
	Status OrderStatus
	Page   Page
}

// SandboxIntent is a payment intent of the built-in sandbox gateway, kept
// in Fulfill's own database.
type SandboxIntent struct {
	ID      string      `json:"id"`
	OrderID string      `json:"order_id"`
	Amount  Money       `json:"amount"`
	Capture CaptureMode `json:"capture"`
	Email   string      `json:"email,omitempty"`
	// Status: requires_payment, authorized, succeeded, failed, canceled,
	// refunded.
	Status    string    `json:"status"`
	Refunded  int64     `json:"refunded"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// AutoConfirmAt is when the sandbox confirms the intent by itself
	// (FULFILL_SANDBOX_AUTO_CONFIRM_MS) if it still requires payment; nil:
	// only when asked.
	AutoConfirmAt *time.Time `json:"auto_confirm_at,omitempty"`
}

// StockThreshold is the low-stock level of one SKU in one warehouse. Low
// says the last check found available stock at or below Threshold.
type StockThreshold struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	Threshold int64  `json:"threshold"`
	Low       bool   `json:"low"`
}

// OrderSave is one order for PipelineTx.SaveOrders: the order as changed,
// and what it was when loaded.
type OrderSave struct {
	Order *Order
	// LoadedStatus guards the update: the stored status must still be it.
	LoadedStatus OrderStatus
	// LoadedTimeline is how many timeline entries the order had when
	// loaded; the entries after them are inserted.
	LoadedTimeline int
	// AllocationsChanged rewrites the order's allocations.
	AllocationsChanged bool
}

// PipelineTx is the part of a transaction the checkout, payment and
// inventory stages use. Every method returns *Error codes as documented.
type PipelineTx interface {
	// CreateOrder inserts o with its lines and timeline. EAlreadyExists when
	// the id, or (Payment.Provider, Payment.IntentID) when set, is taken.
	CreateOrder(ctx context.Context, o *Order) error
	// GetOrder returns an order with lines, timeline and allocations.
	// ENotFound.
	GetOrder(ctx context.Context, id string) (*Order, error)
	// OrderByIntent finds the order of a gateway intent. ENotFound.
	OrderByIntent(ctx context.Context, provider, intentID string) (*Order, error)
	// UpdateOrder loads the order locked for this transaction, calls fn on
	// it and saves what fn changed: status (as a guarded update on the
	// status it was loaded with), payment, allocations, expiry and any
	// timeline entries fn appended. fn's error aborts the save and is
	// returned. ENotFound; EConflict when the guard fails.
	UpdateOrder(ctx context.Context, id string, fn func(*Order) error) (*Order, error)
	// OrdersByIDs returns the orders of ids that exist (with lines,
	// timeline and allocations), in no particular order, locked for this
	// transaction like UpdateOrder's load; unknown ids are left out. It
	// lets a batch load its orders in one round trip and save them with
	// SaveOrder.
	OrdersByIDs(ctx context.Context, ids []string) ([]Order, error)
	// SaveOrders saves orders loaded earlier in this transaction (by
	// GetOrder, OrdersByIDs, PaidOrdersToAllocate…) without loading them
	// again, in the given order and in as few round trips as the engine
	// allows. Each is saved as UpdateOrder saves: status, payment and
	// expiry as a guarded update on LoadedStatus, the timeline entries from
	// index LoadedTimeline on, the allocations when AllocationsChanged;
	// lines are never rewritten. ENotFound; EConflict when a guard fails
	// (what was saved before it stays; the caller rolls back).
	SaveOrders(ctx context.Context, saves []OrderSave) error
	// ListOrders lists orders newest first, by status when set.
	ListOrders(ctx context.Context, f OrderFilter) ([]Order, error)
	// PaidOrdersToAllocate returns up to limit orders in status paid, in
	// order of payment confirmation (Payment.ConfirmedAt, then the order's
	// arrival sequence), locking them for this transaction.
	PaidOrdersToAllocate(ctx context.Context, limit int) ([]Order, error)
	// ExpiredOrders returns ids of pending_payment orders whose ExpiresAt is
	// before now, oldest first, at most limit.
	ExpiredOrders(ctx context.Context, now time.Time, limit int) ([]string, error)
	// LockAllocator serialises reservation decisions across processes for
	// the rest of the transaction (an advisory lock on PostgreSQL; SQLite's
	// single writer already does).
	LockAllocator(ctx context.Context) error

	// BeginIdempotency inserts rec as in flight. When (Scope, Key) exists it
	// inserts nothing and returns the stored record (which may be stale in
	// flight; the caller decides), else nil.
	BeginIdempotency(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, error)
	// TakeOverIdempotency replaces an in-flight record whose LockedUntil has
	// passed with rec, and reports whether it did.
	TakeOverIdempotency(ctx context.Context, rec *IdempotencyRecord, now time.Time) (bool, error)
	// FinishIdempotency stores the response of (scope, key) and marks it done.
	// ENotFound.
	FinishIdempotency(ctx context.Context, scope, key string, status int, body []byte) error
	// DeleteIdempotency forgets (scope, key) so that a retry runs again.
	DeleteIdempotency(ctx context.Context, scope, key string) error
	// PurgeIdempotency deletes records created before cutoff and returns how
	// many it deleted.
	PurgeIdempotency(ctx context.Context, cutoff time.Time) (int64, error)

	// InsertWebhookEvent stores e unless (Provider, EventID) exists, and
	// reports whether it inserted. On a duplicate it sets e.ID and e.Status
	// from the stored event.
	InsertWebhookEvent(ctx context.Context, e *WebhookEvent) (bool, error)
	// GetWebhookEvent returns one event by id. ENotFound.
	GetWebhookEvent(ctx context.Context, id string) (*WebhookEvent, error)
	// ListWebhookEvents lists events newest first.
	ListWebhookEvents(ctx context.Context, f WebhookFilter) ([]WebhookEvent, error)
	// MarkWebhookEvent sets an event's status and error, adds one attempt
	// and stamps ProcessedAt with at. ENotFound.
	MarkWebhookEvent(ctx context.Context, id string, status WebhookStatus, errMsg string, at time.Time) error
	// MarkWebhookEvents is MarkWebhookEvent with an empty error for many
	// distinct events at once (one statement). ENotFound when any id is
	// unknown (the known ones are marked; the caller rolls back).
	MarkWebhookEvents(ctx context.Context, ids []string, status WebhookStatus, at time.Time) error
	// ReceivedWebhookEvents returns up to limit events in status received,
	// in order of OccurredAt, then arrival (the order the payment stage
	// applies them in), locked for this transaction.
	ReceivedWebhookEvents(ctx context.Context, limit int) ([]WebhookEvent, error)

	// AddReservation records reserved units of an order (the caller moves
	// the stock with MoveStock in the same transaction).
	AddReservation(ctx context.Context, r Reservation) error
	// MoveStocks applies movements in order, each exactly as MoveStock
	// would (guarded, with its ledger row), in as few round trips as the
	// engine allows. It returns the error of the first that fails
	// (EInsufficient, ENotFound, EInvalid); others may have been applied,
	// so the caller must then roll back.
	MoveStocks(ctx context.Context, ms []StockMovement) error
	// AddReservations is AddReservation for many rows at once (one round
	// trip). ENotFound when any refers to an unknown order, SKU or bin.
	AddReservations(ctx context.Context, rs []Reservation) error
	// Reservations lists an order's reservations (holds and firm).
	Reservations(ctx context.Context, orderID string) ([]Reservation, error)
	// DeleteReservations removes an order's reservations of kind (all kinds
	// when empty) and returns what it removed.
	DeleteReservations(ctx context.Context, orderID string, kind ReservationKind) ([]Reservation, error)
	// ConvertHolds turns an order's holds into firm reservations and returns
	// them.
	ConvertHolds(ctx context.Context, orderID string) ([]Reservation, error)
	// ExpiredHolds returns order ids with holds expired before now, at most
	// limit.
	ExpiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error)

	// AddNotification queues n unless its DedupeKey exists; it reports
	// whether it inserted.
	AddNotification(ctx context.Context, n *Notification) (bool, error)
	// AddNotifications queues many notifications in the given order (one
	// round trip), each unless its DedupeKey exists (also earlier in ns).
	// It fills empty IDs, statuses and creation times as AddNotification
	// does.
	AddNotifications(ctx context.Context, ns []*Notification) error
	// Notifications lists an order's notifications in creation order.
	Notifications(ctx context.Context, orderID string) ([]Notification, error)

	// BackorderedOrders returns up to limit backordered orders in order of
	// payment confirmation, locked for this transaction.
	BackorderedOrders(ctx context.Context, limit int) ([]Order, error)

	// SetStockThreshold sets the low-stock threshold of a SKU in a
	// warehouse (keeping its Low flag). ENotFound for an unknown SKU or
	// warehouse.
	SetStockThreshold(ctx context.Context, th StockThreshold) error
	// StockThresholds returns the thresholds of the given SKU (all when
	// empty).
	StockThresholds(ctx context.Context, sku string) ([]StockThreshold, error)
	// MarkStockLow records whether the SKU is below its threshold in the
	// warehouse, so that stock.low is raised once per crossing. ENotFound.
	MarkStockLow(ctx context.Context, sku, warehouse string, low bool) error

	// CreateSandboxIntent stores a sandbox intent. EAlreadyExists.
	CreateSandboxIntent(ctx context.Context, si *SandboxIntent) error
	// GetSandboxIntent returns one, locked for this transaction. ENotFound.
	GetSandboxIntent(ctx context.Context, id string) (*SandboxIntent, error)
	// UpdateSandboxIntent saves si if its stored status is still expected.
	// ENotFound; EConflict when the status moved.
	UpdateSandboxIntent(ctx context.Context, si *SandboxIntent, expected string) error
	// DueSandboxIntents returns up to limit intents in status
	// requires_payment whose AutoConfirmAt is at or before now, the
	// earliest AutoConfirmAt first (then by id), locked for this
	// transaction; in a read-write transaction on PostgreSQL, intents
	// another transaction holds are skipped (SKIP LOCKED), so that several
	// processes split the due intents between them.
	DueSandboxIntents(ctx context.Context, now time.Time, limit int) ([]*SandboxIntent, error)
}

// SandboxConfirm plays the shopper on the sandbox gateway's payment page:
// the body of POST /sandbox/payments/{intent_id}/confirm. The knobs shape
// the webhook deliveries for demos and tests.
type SandboxConfirm struct {
	// Outcome is succeeded or declined.
	Outcome string `json:"outcome"`
	// DelayMS delays the webhook delivery by this many milliseconds.
	DelayMS int `json:"delay_ms"`
	// Duplicate delivers the same event (same id) twice.
	Duplicate bool `json:"duplicate"`
	// OutOfOrder delivers, after the outcome's event, a payment failure with
	// an older timestamp (an earlier declined attempt arriving late).
	OutOfOrder bool `json:"out_of_order"`
	// FailFirst makes the first N delivery attempts fail, so that the queue
	// retries them with backoff.
	FailFirst int `json:"fail_first"`
}

// Sandbox knob limits.
const (
	maxSandboxDelayMS   = 10 * 60 * 1000
	maxSandboxFailFirst = 10
)

// Validate checks the outcome and the knobs' ranges. EInvalid.
func (c SandboxConfirm) Validate() error {
	if c.Outcome != "succeeded" && c.Outcome != "declined" {
		return FieldErrorf(EInvalid, "outcome", "outcome must be succeeded or declined")
	}
	if c.DelayMS < 0 || c.DelayMS > maxSandboxDelayMS {
		return FieldErrorf(EInvalid, "delay_ms", "delay_ms must be between 0 and %d", maxSandboxDelayMS)
	}
	if c.FailFirst < 0 || c.FailFirst > maxSandboxFailFirst {
		return FieldErrorf(EInvalid, "fail_first", "fail_first must be between 0 and %d", maxSandboxFailFirst)
	}
	return nil
}
