package fulfill

import "regexp"

// Money is an amount in integer minor units (paise, cents) and an ISO 4217
// currency code. Money is never a float.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks that the currency is a three-letter upper-case code and the
// amount is not negative. field names the JSON field in errors.
func (m Money) Validate(field string) error {
	if !currencyRE.MatchString(m.Currency) {
		return FieldErrorf(EInvalid, field+".currency", "currency must be a three-letter ISO 4217 code such as INR")
	}
	if m.Amount < 0 {
		return FieldErrorf(EInvalid, field+".amount", "amount must not be negative")
	}
	return nil
}
