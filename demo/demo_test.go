package demo_test

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/demo"
)

// readCSV reads name from demo.FS and returns its rows as maps keyed by the
// header, checking that the header is exactly want (in any order).
func readCSV(t *testing.T, name string, want ...string) []map[string]string {
	t.Helper()
	f, err := demo.FS.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		t.Fatalf("%s header: %v", name, err)
	}
	if got, exp := sortedJoin(header), sortedJoin(want); got != exp {
		t.Fatalf("%s header = %v, want the columns %v", name, header, want)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		row := map[string]string{"_line": strconv.Itoa(len(rows) + 2)}
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no rows", name)
	}
	return rows
}

func sortedJoin(s []string) string {
	c := slices.Clone(s)
	slices.Sort(c)
	return strings.Join(c, ",")
}

func atoi(t *testing.T, row map[string]string, field string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(row[field], 10, 64)
	if err != nil {
		t.Fatalf("line %s: %s %q is not an integer", row["_line"], field, row[field])
	}
	return n
}

func atof(t *testing.T, row map[string]string, field string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(row[field], 64)
	if err != nil {
		t.Fatalf("line %s: %s %q is not a number", row["_line"], field, row[field])
	}
	return f
}

func atob(t *testing.T, row map[string]string, field string) bool {
	t.Helper()
	b, err := strconv.ParseBool(row[field])
	if err != nil {
		t.Fatalf("line %s: %s %q is not true/false", row["_line"], field, row[field])
	}
	return b
}

func loadWarehouses(t *testing.T) map[string]bool {
	rows := readCSV(t, "warehouses.csv", "code", "name", "line1", "city", "region", "postal_code", "country", "latitude", "longitude", "cutoff_time", "time_zone", "active")
	codes := map[string]bool{}
	for _, row := range rows {
		w := fulfill.Warehouse{
			Code: row["code"], Name: row["name"],
			Address:    fulfill.Address{Line1: row["line1"], City: row["city"], Region: row["region"], PostalCode: row["postal_code"], Country: row["country"]},
			Latitude:   atof(t, row, "latitude"),
			Longitude:  atof(t, row, "longitude"),
			CutoffTime: row["cutoff_time"], TimeZone: row["time_zone"], Active: atob(t, row, "active"),
		}
		if err := w.Validate(); err != nil {
			t.Errorf("warehouses.csv line %s: %v", row["_line"], err)
		}
		if w.Address.Line1 == "" || w.Address.City == "" || w.Address.PostalCode == "" || w.Address.Country != "IN" {
			t.Errorf("warehouses.csv line %s: incomplete Indian address %+v", row["_line"], w.Address)
		}
		if codes[w.Code] {
			t.Errorf("warehouses.csv line %s: duplicate code %s", row["_line"], w.Code)
		}
		codes[w.Code] = true
	}
	return codes
}

func loadBins(t *testing.T, warehouses map[string]bool) map[string]bool {
	rows := readCSV(t, "bins.csv", "warehouse", "zone", "aisle", "rack", "shelf", "position", "pick_sequence", "active")
	bins := map[string]bool{}
	seqs := map[string]bool{}
	for _, row := range rows {
		b := fulfill.Bin{Warehouse: row["warehouse"], Zone: row["zone"], Aisle: row["aisle"], Rack: row["rack"],
			Shelf: row["shelf"], Position: row["position"], PickSeq: atoi(t, row, "pick_sequence"), Active: atob(t, row, "active")}
		if err := b.Validate(); err != nil {
			t.Errorf("bins.csv line %s: %v", row["_line"], err)
		}
		if !warehouses[b.Warehouse] {
			t.Errorf("bins.csv line %s: unknown warehouse %s", row["_line"], b.Warehouse)
		}
		key := b.Warehouse + "/" + b.Code
		if bins[key] {
			t.Errorf("bins.csv line %s: duplicate bin %s", row["_line"], key)
		}
		bins[key] = true
		seq := fmt.Sprintf("%s/%d", b.Warehouse, b.PickSeq)
		if seqs[seq] {
			t.Errorf("bins.csv line %s: duplicate pick_sequence %s", row["_line"], seq)
		}
		seqs[seq] = true
	}
	return bins
}

func loadProducts(t *testing.T) map[string]fulfill.Product {
	rows := readCSV(t, "products.csv", "sku", "name", "barcode", "price", "currency", "weight_grams", "length_mm", "width_mm", "height_mm", "active")
	products := map[string]fulfill.Product{}
	barcodes := map[string]bool{}
	for _, row := range rows {
		p := fulfill.Product{
			SKU: row["sku"], Name: row["name"], Barcode: row["barcode"],
			Price:        fulfill.Money{Amount: atoi(t, row, "price"), Currency: row["currency"]},
			WeightGrams:  atoi(t, row, "weight_grams"),
			DimensionsMM: fulfill.Dimensions{Length: atoi(t, row, "length_mm"), Width: atoi(t, row, "width_mm"), Height: atoi(t, row, "height_mm")},
			Active:       atob(t, row, "active"),
		}
		if err := p.Validate(); err != nil {
			t.Errorf("products.csv line %s: %v", row["_line"], err)
		}
		if len(p.Barcode) != 13 || p.Price.Currency != "INR" || p.Price.Amount <= 0 || p.WeightGrams <= 0 {
			t.Errorf("products.csv line %s: want an EAN-13, a positive INR price and a weight: %+v", row["_line"], p)
		}
		if _, dup := products[p.SKU]; dup || barcodes[p.Barcode] {
			t.Errorf("products.csv line %s: duplicate sku or barcode", row["_line"])
		}
		products[p.SKU] = p
		barcodes[p.Barcode] = true
	}
	return products
}

func TestDemoFilesAreValid(t *testing.T) {
	t.Parallel()
	warehouses := loadWarehouses(t)
	bins := loadBins(t, warehouses)
	products := loadProducts(t)

	if got := products["WHEY-2KG-CHOC"].Name; got != "Whey Protein 2kg Chocolate" {
		t.Errorf("WHEY-2KG-CHOC name = %q, want the handheld example's product", got)
	}
	if len(products) < 40 || len(warehouses) != 3 {
		t.Errorf("want about 50 products and 3 warehouses, got %d and %d", len(products), len(warehouses))
	}

	rows := readCSV(t, "stock.csv", "sku", "warehouse", "bin", "quantity")
	stocked := map[string]bool{}
	seen := map[string]bool{}
	for _, row := range rows {
		if _, ok := products[row["sku"]]; !ok {
			t.Errorf("stock.csv line %s: unknown sku %s", row["_line"], row["sku"])
		}
		if !bins[row["warehouse"]+"/"+row["bin"]] {
			t.Errorf("stock.csv line %s: unknown bin %s/%s", row["_line"], row["warehouse"], row["bin"])
		}
		if q := atoi(t, row, "quantity"); q <= 0 {
			t.Errorf("stock.csv line %s: quantity %d must be positive", row["_line"], q)
		}
		key := row["sku"] + "/" + row["warehouse"] + "/" + row["bin"]
		if seen[key] {
			t.Errorf("stock.csv line %s: %s listed twice (a later row would overwrite the count)", row["_line"], key)
		}
		seen[key] = true
		stocked[row["sku"]+"/"+row["warehouse"]] = true
	}
	for sku := range products {
		for wh := range warehouses {
			if !stocked[sku+"/"+wh] {
				t.Errorf("stock.csv: no stock of %s in %s", sku, wh)
			}
		}
	}
}
