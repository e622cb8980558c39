package fulfill

import "time"

// ShipmentStatus is where a parcel is between the packing station and the
// customer's door.
type ShipmentStatus string

// Shipment statuses. A label is bought (label_purchased), the partner picks
// the parcel up (in_transit), takes it out for delivery, and delivers it;
// exception is a problem the partner reports (an address it cannot find, a
// refusal), from which a parcel may still move on; voided is a label given
// back before pickup.
const (
	ShipmentLabelPurchased ShipmentStatus = "label_purchased"
	ShipmentInTransit      ShipmentStatus = "in_transit"
	ShipmentOutForDelivery ShipmentStatus = "out_for_delivery"
	ShipmentDelivered      ShipmentStatus = "delivered"
	ShipmentException      ShipmentStatus = "exception"
	ShipmentVoided         ShipmentStatus = "voided"
)

// shipmentRank orders the statuses along the journey, so that a late or
// repeated tracking update never moves a parcel backwards. Exception sits
// beside the journey (rank 0: it moves nothing back, and anything moves on
// from it).
var shipmentRank = map[ShipmentStatus]int{
	ShipmentLabelPurchased: 1,
	ShipmentInTransit:      2,
	ShipmentOutForDelivery: 3,
	ShipmentDelivered:      4,
	ShipmentException:      0,
	ShipmentVoided:         5,
}

// Valid reports whether s is a known shipment status.
func (s ShipmentStatus) Valid() bool {
	_, ok := shipmentRank[s]
	return ok
}

// Final reports whether no tracking update moves a shipment on from s.
func (s ShipmentStatus) Final() bool { return s == ShipmentDelivered || s == ShipmentVoided }

// Advances reports whether a tracking update to next moves a shipment that
// is at s: forward along the journey, into or out of an exception, never
// back, never out of a final status, never to the same status.
func (s ShipmentStatus) Advances(next ShipmentStatus) bool {
	if !next.Valid() || s.Final() || next == s || next == ShipmentVoided || next == ShipmentLabelPurchased {
		return false
	}
	if next == ShipmentException || s == ShipmentException {
		return true
	}
	return shipmentRank[next] > shipmentRank[s]
}

// Parcel is what goes on the scale at the packing station.
type Parcel struct {
	WeightGrams  int64      `json:"weight_grams"`
	DimensionsMM Dimensions `json:"dimensions_mm"`
}

// TrackingEvent is one step of a parcel's journey as its partner reports
// it.
type TrackingEvent struct {
	Status ShipmentStatus `json:"status"`
	At     time.Time      `json:"at"`
	// Location is the city (never a street) where it happened.
	Location string `json:"location,omitempty"`
	Message  string `json:"message,omitempty"`
	// Applied is false for an update that moved nothing (a duplicate, or a
	// late one after a later step): kept in the history, ignored.
	Applied bool `json:"applied"`
}

// Shipment is one parcel of an order, from one warehouse, with one
// delivery partner. A split order has several.
type Shipment struct {
	ID             string `json:"id"`
	OrderID        string `json:"order_id"`
	Warehouse      string `json:"warehouse"`
	Carrier        string `json:"carrier"`
	Service        string `json:"service"`
	TrackingNumber string `json:"tracking_number"`
	TrackingURL    string `json:"tracking_url"`
	// CarrierRef is the carrier adapter's own id of the label (what a
	// void or a tracker names); not shown to shoppers.
	CarrierRef        string          `json:"carrier_ref,omitempty"`
	Rate              Money           `json:"rate"`
	Parcel            Parcel          `json:"parcel"`
	ShipDate          string          `json:"ship_date"`
	EstimatedDelivery *time.Time      `json:"estimated_delivery,omitempty"`
	Status            ShipmentStatus  `json:"status"`
	Events            []TrackingEvent `json:"events"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
}
