package fulfill

import (
	"regexp"
	"strings"
	"time"
)

// Product is a sellable item, addressed by its SKU.
type Product struct {
	SKU          string     `json:"sku"`
	Name         string     `json:"name"`
	Barcode      string     `json:"barcode"`
	Price        Money      `json:"price"`
	WeightGrams  int64      `json:"weight_grams"`
	DimensionsMM Dimensions `json:"dimensions_mm"`
	Active       bool       `json:"active"`
	// OutOfStockPolicy overrides the merchant's default for paid orders
	// that get no stock: "void", "refund" or "backorder"; empty = default.
	OutOfStockPolicy OutOfStockPolicy `json:"out_of_stock_policy,omitempty"`
	CreatedAt        time.Time        `json:"created_at"`
	UpdatedAt        time.Time        `json:"updated_at"`
}

// Dimensions is a parcel's or product's size in millimetres.
type Dimensions struct {
	Length int64 `json:"length"`
	Width  int64 `json:"width"`
	Height int64 `json:"height"`
}

var skuRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateSKU checks a SKU: 1–64 letters, digits, dot, dash or underscore,
// starting with a letter or digit.
func ValidateSKU(field, sku string) error {
	if !skuRE.MatchString(sku) {
		return FieldErrorf(EInvalid, field, "sku must be 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit")
	}
	return nil
}

// Validate checks every field of p and returns the first problem as an
// EInvalid *Error naming the field.
func (p *Product) Validate() error {
	if err := ValidateSKU("sku", p.SKU); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 {
		return FieldErrorf(EInvalid, "name", "name is required (at most 200 characters)")
	}
	if err := ValidateGTIN(p.Barcode); err != nil {
		return err
	}
	if err := p.Price.Validate("price"); err != nil {
		return err
	}
	if p.WeightGrams < 0 {
		return FieldErrorf(EInvalid, "weight_grams", "weight_grams must not be negative")
	}
	if p.OutOfStockPolicy != "" && !p.OutOfStockPolicy.Valid() {
		return FieldErrorf(EInvalid, "out_of_stock_policy", "out_of_stock_policy must be void, refund or backorder")
	}
	d := p.DimensionsMM
	if d.Length < 0 || d.Width < 0 || d.Height < 0 {
		return FieldErrorf(EInvalid, "dimensions_mm", "dimensions must not be negative")
	}
	return nil
}

// ValidateGTIN checks that code is a GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN) or
// GTIN-14 with a correct check digit. An empty barcode is allowed (not every
// item carries one).
func ValidateGTIN(code string) error {
	if code == "" {
		return nil
	}
	switch len(code) {
	case 8, 12, 13, 14:
	default:
		return FieldErrorf(EInvalid, "barcode", "barcode must be a GTIN of 8, 12, 13 or 14 digits")
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return FieldErrorf(EInvalid, "barcode", "barcode must contain only digits")
		}
	}
	if GTINCheckDigit(code[:len(code)-1]) != code[len(code)-1] {
		return FieldErrorf(EInvalid, "barcode", "barcode check digit is wrong (expected %c)", GTINCheckDigit(code[:len(code)-1]))
	}
	return nil
}

// GTINCheckDigit returns the GS1 check digit for the digits of a GTIN without
// its last digit: weights 3,1,3,… from the right.
func GTINCheckDigit(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// OutOfStockPolicy is what happens to a paid order that can't get stock.
type OutOfStockPolicy string

// Out-of-stock policies.
const (
	PolicyVoid      OutOfStockPolicy = "void"      // cancel the authorization (manual capture); nothing charged
	PolicyRefund    OutOfStockPolicy = "refund"    // refund through the gateway; order ends refunded
	PolicyBackorder OutOfStockPolicy = "backorder" // keep it paid as backordered; served first when stock arrives
)

// Valid reports whether p is a known policy.
func (p OutOfStockPolicy) Valid() bool {
	return p == PolicyVoid || p == PolicyRefund || p == PolicyBackorder
}
