package paypal

import (
	"testing"

	"github.com/fulfill-dev/fulfill"
)

func TestDecimalRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value string
		cur   string
		minor int64
		back  string
	}{
		{"3499.00", "INR", 349900, "3499.00"},
		{"3499.5", "INR", 349950, "3499.50"},
		{"0.01", "USD", 1, "0.01"},
		{"0", "USD", 0, "0.00"},
		{"100", "JPY", 100, "100"},
		{"1.234", "KWD", 1234, "1.234"},
		{"92233720368547.75", "USD", 9223372036854775, "92233720368547.75"},
	}
	for _, c := range cases {
		m, err := fromDecimal(c.value, c.cur)
		if err != nil || m.Amount != c.minor || m.Currency != c.cur {
			t.Errorf("fromDecimal(%q, %s) = %+v, %v; want %d", c.value, c.cur, m, err, c.minor)
			continue
		}
		if got := toDecimal(m); got != c.back {
			t.Errorf("toDecimal(%+v) = %q, want %q", m, got, c.back)
		}
	}
}

func TestDecimalRejects(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", ".5", "1.", "1.234", "-1.00", "+1", "1e3", "1,000.00", "1.0.0", " 1", "NaN", "9999999999999999.00"} {
		if _, err := fromDecimal(v, "USD"); !fulfill.IsCode(err, fulfill.EInvalid) {
			t.Errorf("fromDecimal(%q) error = %v, want invalid", v, err)
		}
	}
	if _, err := fromDecimal("1.5", "JPY"); err == nil {
		t.Error("JPY with decimals accepted")
	}
	if _, err := fromDecimal("1.00", "usd"); err == nil {
		t.Error("lower-case currency accepted")
	}
}
