package fulfill_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

func TestValidateGTIN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"", true},
		{"4006381333931", true},  // EAN-13
		{"4006381333932", false}, // wrong check digit
		{"036000291452", true},   // UPC-A
		{"96385074", true},       // EAN-8
		{"10012345678902", true}, // GTIN-14
		{"400638133393", false},  // 12 digits, wrong check
		{"40063813339A1", false}, // letter
		{"123", false},           // length
	} {
		err := fulfill.ValidateGTIN(tc.code)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateGTIN(%q) = %v, want ok=%v", tc.code, err, tc.ok)
		}
		if err != nil && (fulfill.ErrorCodeOf(err) != fulfill.EInvalid || err.(*fulfill.Error).Field != "barcode") {
			t.Errorf("ValidateGTIN(%q) error %v lacks code/field", tc.code, err)
		}
	}
}

func TestProductValidate(t *testing.T) {
	t.Parallel()
	good := func() fulfill.Product {
		return fulfill.Product{SKU: "WHEY-2KG-CHOC", Name: "Whey", Barcode: "4006381333931",
			Price: fulfill.Money{Amount: 349900, Currency: "INR"}, WeightGrams: 2100}
	}
	p := good()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mutate := range map[string]func(*fulfill.Product){
		"sku":            func(p *fulfill.Product) { p.SKU = "bad sku" },
		"name":           func(p *fulfill.Product) { p.Name = " " },
		"barcode":        func(p *fulfill.Product) { p.Barcode = "4006381333932" },
		"price.currency": func(p *fulfill.Product) { p.Price.Currency = "rupees" },
		"price.amount":   func(p *fulfill.Product) { p.Price.Amount = -1 },
		"weight_grams":   func(p *fulfill.Product) { p.WeightGrams = -1 },
		"dimensions_mm":  func(p *fulfill.Product) { p.DimensionsMM.Height = -1 },
	} {
		p := good()
		mutate(&p)
		err := p.Validate()
		if err == nil || err.(*fulfill.Error).Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestBinValidateFillsCode(t *testing.T) {
	t.Parallel()
	b := fulfill.Bin{Zone: "A", Aisle: "12", Rack: "C", Shelf: "4"}
	if err := b.Validate(); err != nil || b.Code != "A-12-C-4" {
		t.Fatalf("code %q err %v", b.Code, err)
	}
	b.Code = "A-12-C-5"
	if err := b.Validate(); err == nil {
		t.Fatal("mismatched code accepted")
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	a, b := fulfill.NewID("ord", t0), fulfill.NewID("ord", t0.Add(time.Millisecond))
	if !strings.HasPrefix(a, "ord_") || len(a) != 4+26 || a >= b {
		t.Fatalf("ids %q %q", a, b)
	}
	if c, d := fulfill.NewID("ord", t0), fulfill.NewID("ord", t0); c == d {
		t.Fatal("ids collide")
	}
}

func TestWrapKeepsDomainErrorsAndNil(t *testing.T) {
	t.Parallel()
	if fulfill.Wrap(nil, "x") != nil {
		t.Fatal("Wrap(nil) must be nil")
	}
	nf := fulfill.Errorf(fulfill.ENotFound, "gone")
	if fulfill.ErrorCodeOf(fulfill.Wrap(nf, "x")) != fulfill.ENotFound {
		t.Fatal("Wrap lost the code")
	}
}
