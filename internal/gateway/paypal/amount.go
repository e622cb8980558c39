package paypal

import (
	"strconv"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// exponent is the number of decimal places PayPal uses for a currency.
// PayPal sends HUF, JPY and TWD without decimals; the three-decimal dinars
// are listed for completeness.
func exponent(currency string) int {
	switch currency {
	case "HUF", "JPY", "TWD", "KRW", "CLP", "VND", "ISK":
		return 0
	case "BHD", "JOD", "KWD", "OMR", "TND":
		return 3
	}
	return 2
}

// toDecimal renders minor units as PayPal's decimal string: 349900 INR is
// "3499.00".
func toDecimal(m fulfill.Money) string {
	exp := exponent(m.Currency)
	s := strconv.FormatInt(m.Amount, 10)
	if exp == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	if neg {
		s = "-" + s
	}
	return s
}

// fromDecimal parses PayPal's decimal string into minor units with integer
// arithmetic only: "3499.00" INR is 349900, "3499.5" is 349950. More
// fraction digits than the currency has, a sign, or anything but digits
// and one point is an error.
func fromDecimal(value, currency string) (fulfill.Money, error) {
	bad := fulfill.FieldErrorf(fulfill.EInvalid, "amount.value", "amount %q is not a decimal amount of %s", truncate(value, 32), truncate(currency, 8))
	exp := exponent(currency)
	whole, frac, hasPoint := strings.Cut(value, ".")
	if whole == "" || !digits(whole) || !digits(frac) || (hasPoint && frac == "") || len(frac) > exp || len(whole) > 15 {
		return fulfill.Money{}, bad
	}
	n, err := strconv.ParseInt(whole+frac+strings.Repeat("0", exp-len(frac)), 10, 64)
	if err != nil {
		return fulfill.Money{}, bad
	}
	m := fulfill.Money{Amount: n, Currency: currency}
	if err := m.Validate("amount"); err != nil {
		return fulfill.Money{}, err
	}
	return m, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
