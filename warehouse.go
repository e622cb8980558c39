package fulfill

import (
	"regexp"
	"strings"
	"time"
)

// Address is a postal address with optional coordinates.
type Address struct {
	Name       string  `json:"name,omitempty"`
	Line1      string  `json:"line1"`
	Line2      string  `json:"line2,omitempty"`
	City       string  `json:"city"`
	Region     string  `json:"region,omitempty"`
	PostalCode string  `json:"postal_code"`
	Country    string  `json:"country"`
	Lat        float64 `json:"lat,omitempty"`
	Lon        float64 `json:"lon,omitempty"`
}

// Warehouse is a building that holds stock, addressed by its code.
type Warehouse struct {
	Code    string  `json:"code"`
	Name    string  `json:"name"`
	Address Address `json:"address"`
	// Latitude and Longitude place the warehouse for nearest-first allocation.
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	// CutoffTime is the local daily cut-off ("HH:MM") after which orders ship
	// the next day.
	CutoffTime string `json:"cutoff_time"`
	// TimeZone is an IANA zone name such as Asia/Kolkata.
	TimeZone  string    `json:"time_zone"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
var cutoffRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// ValidateCode checks a warehouse or bin part code.
func ValidateCode(field, code string) error {
	if !codeRE.MatchString(code) {
		return FieldErrorf(EInvalid, field, "%s must be 1-32 letters, digits, '-' or '_'", field)
	}
	return nil
}

// Validate checks w and returns the first problem.
func (w *Warehouse) Validate() error {
	if err := ValidateCode("code", w.Code); err != nil {
		return err
	}
	if strings.TrimSpace(w.Name) == "" {
		return FieldErrorf(EInvalid, "name", "name is required")
	}
	if w.Latitude < -90 || w.Latitude > 90 {
		return FieldErrorf(EInvalid, "latitude", "latitude must be between -90 and 90")
	}
	if w.Longitude < -180 || w.Longitude > 180 {
		return FieldErrorf(EInvalid, "longitude", "longitude must be between -180 and 180")
	}
	if !cutoffRE.MatchString(w.CutoffTime) {
		return FieldErrorf(EInvalid, "cutoff_time", "cutoff_time must be HH:MM (24-hour)")
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil || w.TimeZone == "" {
		return FieldErrorf(EInvalid, "time_zone", "time_zone must be an IANA zone such as Asia/Kolkata")
	}
	return nil
}

// Bin is one storage location inside a warehouse: zone, aisle, rack, shelf
// and an optional position. PickSeq orders bins in walking order.
type Bin struct {
	Warehouse string    `json:"warehouse"`
	Code      string    `json:"code"`
	Zone      string    `json:"zone"`
	Aisle     string    `json:"aisle"`
	Rack      string    `json:"rack"`
	Shelf     string    `json:"shelf"`
	Position  string    `json:"position,omitempty"`
	PickSeq   int64     `json:"pick_sequence"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var binPartRE = regexp.MustCompile(`^[A-Za-z0-9]{1,8}$`)

// BinCode returns the printable code of a bin address: zone-aisle-rack-shelf
// and, when set, -position, such as "A-12-C-4".
func BinCode(zone, aisle, rack, shelf, position string) string {
	parts := []string{zone, aisle, rack, shelf}
	if position != "" {
		parts = append(parts, position)
	}
	return strings.Join(parts, "-")
}

// Validate checks b's address parts and fills Code from them when empty; a
// given Code must match the address.
func (b *Bin) Validate() error {
	for _, p := range []struct{ field, v string }{{"zone", b.Zone}, {"aisle", b.Aisle}, {"rack", b.Rack}, {"shelf", b.Shelf}} {
		if !binPartRE.MatchString(p.v) {
			return FieldErrorf(EInvalid, p.field, "%s must be 1-8 letters or digits", p.field)
		}
	}
	if b.Position != "" && !binPartRE.MatchString(b.Position) {
		return FieldErrorf(EInvalid, "position", "position must be 1-8 letters or digits")
	}
	want := BinCode(b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position)
	if b.Code == "" {
		b.Code = want
	}
	if b.Code != want {
		return FieldErrorf(EInvalid, "code", "code must be %q for this zone, aisle, rack, shelf and position", want)
	}
	if b.PickSeq < 0 {
		return FieldErrorf(EInvalid, "pick_sequence", "pick_sequence must not be negative")
	}
	return nil
}
