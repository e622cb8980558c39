package fulfill

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// CarrierPolicy is how the label stage picks a delivery partner among
// those that serve a parcel's destination and have capacity left.
type CarrierPolicy string

// Carrier policies (FULFILL_CARRIER_POLICY).
const (
	// PolicyNearest picks the partner whose hub is nearest the shipping
	// warehouse.
	PolicyNearest CarrierPolicy = "nearest"
	// PolicyCheapest picks the lowest rate.
	PolicyCheapest CarrierPolicy = "cheapest"
	// PolicyFastest picks the fewest transit days.
	PolicyFastest CarrierPolicy = "fastest"
)

// Valid reports whether p is a known carrier policy.
func (p CarrierPolicy) Valid() bool {
	return p == PolicyNearest || p == PolicyCheapest || p == PolicyFastest
}

// Partner is a delivery partner that a carrier adapter books parcels
// with: one of the sandbox's fictional partners, or a carrier account
// behind the REST adapter.
type Partner struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Carrier names the adapter that serves the partner (Carrier.Name).
	Carrier string `json:"carrier"`
	// Hub is where the partner collects parcels from; the nearest policy
	// measures from it to the shipping warehouse.
	Hub GeoPoint `json:"hub"`
	// DailyCapacity is how many parcels the partner takes a day; 0: no
	// limit.
	DailyCapacity int64 `json:"daily_capacity"`
	// Cutoff is the daily pickup cut-off ("HH:MM") in the shipping
	// warehouse's time zone; after it a label ships the next day. Empty:
	// none.
	Cutoff string `json:"cutoff,omitempty"`
	// Webhooks says the partner sends tracking webhooks; a partner that
	// doesn't is polled.
	Webhooks bool `json:"webhooks"`
}

// RateRequest asks a carrier what it would charge to take a parcel from a
// warehouse to an address on a day.
type RateRequest struct {
	From     Warehouse
	To       Address
	Parcel   Parcel
	ShipDate string // YYYY-MM-DD, in the warehouse's time zone
}

// Rate is one partner's offer for a parcel.
type Rate struct {
	Partner     string `json:"partner"`
	Service     string `json:"service"`
	Amount      Money  `json:"amount"`
	TransitDays int    `json:"transit_days"`
	// HubDistanceKM is the distance from the partner's hub to the
	// shipping warehouse.
	HubDistanceKM float64 `json:"hub_distance_km"`
	// Ref is the adapter's id of the offer, handed back to BuyLabel.
	Ref string `json:"ref,omitempty"`
}

// LabelRequest buys the label of one rate for one shipment.
type LabelRequest struct {
	ShipmentID string
	OrderID    string
	Rate       Rate
	From       Warehouse
	To         Address
	// Phone of the recipient, for the partner's courier.
	Phone    string
	Parcel   Parcel
	ShipDate string
}

// Purchase is a bought label: what the partner gave back.
type Purchase struct {
	TrackingNumber string
	TrackingURL    string
	// CarrierRef is the adapter's id of the label, for VoidLabel and
	// Track.
	CarrierRef        string
	EstimatedDelivery time.Time
}

// TrackingUpdate is one verified tracking report of a parcel: from a
// partner's webhook, a poll, or a partner's own API call.
type TrackingUpdate struct {
	// Provider is the carrier adapter (Carrier.Name).
	Provider string `json:"provider"`
	// EventID is the provider's unique id of the update; the inbox stores
	// each once.
	EventID        string         `json:"event_id"`
	TrackingNumber string         `json:"tracking_number"`
	Status         ShipmentStatus `json:"status"`
	// RawStatus is the provider's own word for it.
	RawStatus string    `json:"raw_status,omitempty"`
	At        time.Time `json:"at"`
	Location  string    `json:"location,omitempty"`
	Message   string    `json:"message,omitempty"`
}

// Carrier is a shipping provider. Every implementation passes the carrier
// contract suite (internal/carrier/carriertest): the built-in sandbox
// partners, and the REST adapter against a fake server that speaks its
// wire format.
type Carrier interface {
	// Name is the adapter's name, used in webhook URLs
	// (/webhooks/carriers/{name}).
	Name() string
	// Partners lists the delivery partners the adapter books with.
	// EUnavailable.
	Partners(ctx context.Context) ([]Partner, error)
	// Rates quotes every partner that serves the destination; none is an
	// empty list, not an error. EUnavailable when the provider can't be
	// reached; EInvalid when it refuses the request.
	Rates(ctx context.Context, req RateRequest) ([]Rate, error)
	// BuyLabel buys the label of req.Rate. EUnavailable (retry, or try the
	// next partner); EInvalid when the provider refuses it.
	BuyLabel(ctx context.Context, req LabelRequest) (*Purchase, error)
	// VoidLabel gives a bought label back. ENotFound; EConflict when the
	// parcel has already been picked up.
	VoidLabel(ctx context.Context, carrierRef string) error
	// Track returns the parcel's journey so far, oldest first (for
	// partners that send no webhooks). ENotFound, EUnavailable.
	Track(ctx context.Context, carrierRef string) ([]TrackingUpdate, error)
	// ParseWebhook verifies a tracking webhook's signature over the raw
	// body and parses it. EUnauthenticated for a missing or bad signature;
	// EInvalid for a body that is not a tracking event.
	ParseWebhook(ctx context.Context, header http.Header, body []byte) (*TrackingUpdate, error)
}

// ChooseRate orders rates by policy, best first, and returns them: the
// nearest hub, the lowest amount or the fewest transit days, each then by
// the others, then by partner and service code so that the choice is
// stable.
func ChooseRate(rates []Rate, policy CarrierPolicy) []Rate {
	out := append([]Rate(nil), rates...)
	keys := func(r Rate) [3]float64 {
		d, a, t := r.HubDistanceKM, float64(r.Amount.Amount), float64(r.TransitDays)
		switch policy {
		case PolicyCheapest:
			return [3]float64{a, t, d}
		case PolicyFastest:
			return [3]float64{t, a, d}
		}
		return [3]float64{d, a, t}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := keys(out[i]), keys(out[j])
		for n := range ki {
			if ki[n] != kj[n] {
				return ki[n] < kj[n]
			}
		}
		if out[i].Partner != out[j].Partner {
			return out[i].Partner < out[j].Partner
		}
		return out[i].Service < out[j].Service
	})
	return out
}
