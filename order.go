package fulfill

import "time"

// OrderStatus is where an order is in the pipeline. The happy path is
// pending_payment → paid → reserved → picking → packed → shipped →
// out_for_delivery → delivered; payment_failed, cancelled, backordered,
// refunded and exception are side exits. docs/state-machine.md draws it.
type OrderStatus string

// Order statuses.
const (
	StatusPendingPayment OrderStatus = "pending_payment"
	StatusPaid           OrderStatus = "paid"
	StatusReserved       OrderStatus = "reserved"
	StatusPicking        OrderStatus = "picking"
	StatusPacked         OrderStatus = "packed"
	StatusShipped        OrderStatus = "shipped"
	StatusOutForDelivery OrderStatus = "out_for_delivery"
	StatusDelivered      OrderStatus = "delivered"
	StatusPaymentFailed  OrderStatus = "payment_failed"
	StatusCancelled      OrderStatus = "cancelled"
	StatusBackordered    OrderStatus = "backordered"
	StatusRefunded       OrderStatus = "refunded"
	StatusException      OrderStatus = "exception"
)

// OrderStatuses lists every status, happy path first.
var OrderStatuses = []OrderStatus{
	StatusPendingPayment, StatusPaid, StatusReserved, StatusPicking, StatusPacked,
	StatusShipped, StatusOutForDelivery, StatusDelivered,
	StatusPaymentFailed, StatusCancelled, StatusBackordered, StatusRefunded, StatusException,
}

// transitions is the one table of legal order transitions.
var transitions = map[OrderStatus][]OrderStatus{
	// An unpaid order is paid, fails, is cancelled (by the shopper or on
	// expiry), or is flagged when the gateway's amount doesn't match.
	StatusPendingPayment: {StatusPaid, StatusPaymentFailed, StatusCancelled, StatusException},
	// A shopper may pay again on the same intent after a decline.
	StatusPaymentFailed:  {StatusPaid, StatusCancelled, StatusException},
	StatusPaid:           {StatusReserved, StatusBackordered, StatusCancelled, StatusRefunded, StatusException},
	StatusBackordered:    {StatusReserved, StatusCancelled, StatusRefunded, StatusException},
	StatusReserved:       {StatusPicking, StatusCancelled, StatusRefunded, StatusException},
	StatusPicking:        {StatusPacked, StatusReserved, StatusCancelled, StatusRefunded, StatusException},
	StatusPacked:         {StatusShipped, StatusCancelled, StatusRefunded, StatusException},
	StatusShipped:        {StatusOutForDelivery, StatusDelivered, StatusException},
	StatusOutForDelivery: {StatusDelivered, StatusException},
	// A carrier exception may clear and the parcel move on; an operator may
	// also cancel or refund.
	StatusException: {StatusPaid, StatusShipped, StatusOutForDelivery, StatusDelivered, StatusCancelled, StatusRefunded},
	StatusDelivered: {StatusRefunded},
	StatusCancelled: {StatusRefunded},
	StatusRefunded:  {},
}

// Valid reports whether s is a known status.
func (s OrderStatus) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether no transition leaves s.
func (s OrderStatus) Terminal() bool { return len(transitions[s]) == 0 }

// CanTransition reports whether an order may move from one status to another.
func CanTransition(from, to OrderStatus) bool {
	for _, t := range transitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// NextStatuses returns the statuses reachable from s in one step.
func NextStatuses(s OrderStatus) []OrderStatus {
	return append([]OrderStatus(nil), transitions[s]...)
}

// CheckTransition returns nil when from → to is legal and an EConflict
// *Error naming both statuses otherwise.
func CheckTransition(from, to OrderStatus) error {
	if !to.Valid() {
		return FieldErrorf(EInvalid, "status", "unknown order status %q", to)
	}
	if !CanTransition(from, to) {
		return Errorf(EConflict, "order cannot move from %s to %s", from, to)
	}
	return nil
}

// Customer is who bought.
type Customer struct {
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
	Name  string `json:"name,omitempty"`
}

// OrderLine is one priced line of an order. Prices come from the catalog at
// checkout, never from the request.
type OrderLine struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice Money  `json:"unit_price"`
	Total     Money  `json:"total"`
}

// OrderPayment is the order's link to its gateway intent.
type OrderPayment struct {
	Provider     string      `json:"provider"`
	Capture      CaptureMode `json:"capture"`
	IntentID     string      `json:"intent_id"`
	ClientSecret string      `json:"client_secret,omitempty"`
	ApprovalURL  string      `json:"approval_url,omitempty"`
	// ConfirmedAt is the gateway's confirmation time of the payment.
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

// TimelineEntry records one transition of an order.
type TimelineEntry struct {
	At    time.Time   `json:"at"`
	From  OrderStatus `json:"from"`
	To    OrderStatus `json:"to"`
	Cause string      `json:"cause"`
}

// Order is a shopper's purchase as it moves through the pipeline.
type Order struct {
	ID              string          `json:"id"`
	Status          OrderStatus     `json:"status"`
	Customer        Customer        `json:"customer"`
	ShippingAddress Address         `json:"shipping_address"`
	Lines           []OrderLine     `json:"lines"`
	Total           Money           `json:"total"`
	Payment         OrderPayment    `json:"payment"`
	Allocations     []Allocation    `json:"allocations"`
	Timeline        []TimelineEntry `json:"timeline"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	// ExpiresAt is when an unpaid order is cancelled.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Transition moves o to status to, or returns the CheckTransition error and
// leaves o unchanged. The store saves it with a guarded update on the
// previous status.
func (o *Order) Transition(to OrderStatus, cause string, at time.Time) error {
	if err := CheckTransition(o.Status, to); err != nil {
		return err
	}
	o.Timeline = append(o.Timeline, TimelineEntry{At: at, From: o.Status, To: to, Cause: cause})
	o.Status = to
	o.UpdatedAt = at
	return nil
}
