package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

func TestProducts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	var p fulfill.Product
	r := e.call("POST", "/v1/products", productBody("WHEY-1"), http.StatusCreated, &p)
	if r.header.Get("Location") != "/v1/products/WHEY-1" || !p.Active || p.Price.Amount != 249900 || p.CreatedAt.IsZero() {
		t.Fatalf("created %+v, location %q", p, r.header.Get("Location"))
	}
	var got fulfill.Product
	e.call("GET", "/v1/products/WHEY-1", nil, http.StatusOK, &got)
	if got.SKU != "WHEY-1" || got.DimensionsMM.Height != 150 || got.Barcode != "4006381333931" {
		t.Fatalf("got %+v", got)
	}
	// A merchant may read.
	if r := e.do("GET", "/v1/products/WHEY-1", e.merchant, nil); r.status != http.StatusOK {
		t.Fatalf("merchant read: %d %s", r.status, r.body)
	}

	for i := range 4 {
		b := productBody(fmt.Sprintf("SKU-%d", i))
		delete(b, "barcode")
		e.call("POST", "/v1/products", b, http.StatusCreated, nil)
	}
	all, pages := listAll[fulfill.Product](e, "/v1/products?limit=2")
	skus := []string{}
	for _, p := range all {
		skus = append(skus, p.SKU)
	}
	if want := []string{"SKU-0", "SKU-1", "SKU-2", "SKU-3", "WHEY-1"}; !slices.Equal(skus, want) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", skus, pages, want)
	}

	var upd fulfill.Product
	e.call("PATCH", "/v1/products/WHEY-1", map[string]any{"name": "Whey 2kg Chocolate", "price": map[string]any{"amount": 199900, "currency": "INR"}}, http.StatusOK, &upd)
	if upd.Name != "Whey 2kg Chocolate" || upd.Price.Amount != 199900 || upd.WeightGrams != 2100 {
		t.Fatalf("updated %+v", upd)
	}
	wantError(t, e.do("PATCH", "/v1/products/WHEY-1", e.admin, map[string]any{"barcode": "4006381333932"}), 400, "invalid", "barcode")
	wantError(t, e.do("PATCH", "/v1/products/NOPE", e.admin, map[string]any{"name": "x"}), 404, "not_found", "*")
	e.call("GET", "/v1/products/WHEY-1", nil, http.StatusOK, &got)
	if got.Barcode != "4006381333931" || got.Name != "Whey 2kg Chocolate" {
		t.Fatalf("a refused patch changed the product: %+v", got)
	}

	var del fulfill.Product
	e.call("DELETE", "/v1/products/SKU-0", nil, http.StatusOK, &del)
	if del.Active {
		t.Fatal("deactivated product is still active")
	}
	active, _ := listAll[fulfill.Product](e, "/v1/products?active=true")
	if len(active) != 4 {
		t.Fatalf("%d active products, want 4", len(active))
	}
	wantError(t, e.do("GET", "/v1/products/NOPE", e.admin, nil), 404, "not_found", "*")
}

func TestWarehousesAndBins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	var w fulfill.Warehouse
	e.call("POST", "/v1/warehouses", warehouseBody("BLR"), http.StatusCreated, &w)
	if w.Code != "BLR" || !w.Active || w.Address.City != "Bengaluru" || w.TimeZone != "Asia/Kolkata" {
		t.Fatalf("created %+v", w)
	}
	e.call("POST", "/v1/warehouses", warehouseBody("DEL"), http.StatusCreated, nil)
	e.call("POST", "/v1/warehouses", warehouseBody("MUM"), http.StatusCreated, nil)
	wantError(t, e.do("POST", "/v1/warehouses", e.admin, warehouseBody("BLR")), 409, "already_exists", "*")
	bad := warehouseBody("HYD")
	bad["cutoff_time"] = "25:00"
	wantError(t, e.do("POST", "/v1/warehouses", e.admin, bad), 400, "invalid", "cutoff_time")

	all, pages := listAll[fulfill.Warehouse](e, "/v1/warehouses?limit=1")
	if len(all) != 3 || pages != 3 || all[0].Code != "BLR" || all[2].Code != "MUM" {
		t.Fatalf("listed %d in %d pages: %+v", len(all), pages, all)
	}
	e.call("PATCH", "/v1/warehouses/BLR", map[string]any{"cutoff_time": "18:30"}, http.StatusOK, &w)
	if w.CutoffTime != "18:30" || w.Name != "Warehouse BLR" {
		t.Fatalf("patched %+v", w)
	}
	e.call("GET", "/v1/warehouses/BLR", nil, http.StatusOK, &w)
	if w.CutoffTime != "18:30" {
		t.Fatalf("patch not saved: %+v", w)
	}

	var b fulfill.Bin
	r := e.call("POST", "/v1/warehouses/BLR/bins", binBody("12", 3), http.StatusCreated, &b)
	if b.Code != "A-12-C-4" || b.Warehouse != "BLR" || r.header.Get("Location") != "/v1/warehouses/BLR/bins/A-12-C-4" {
		t.Fatalf("bin %+v at %q", b, r.header.Get("Location"))
	}
	e.call("POST", "/v1/warehouses/BLR/bins", binBody("13", 2), http.StatusCreated, nil)
	e.call("POST", "/v1/warehouses/BLR/bins", binBody("14", 1), http.StatusCreated, nil)
	wantError(t, e.do("POST", "/v1/warehouses/NOPE/bins", e.admin, binBody("12", 1)), 404, "not_found", "*")
	wantError(t, e.do("POST", "/v1/warehouses/BLR/bins", e.admin, binBody("12", 1)), 409, "already_exists", "*")
	wantError(t, e.do("POST", "/v1/warehouses/BLR/bins", e.admin, binBody("1-2", 1)), 400, "invalid", "aisle")

	bins, pages := listAll[fulfill.Bin](e, "/v1/warehouses/BLR/bins?limit=2")
	codes := []string{}
	for _, b := range bins {
		codes = append(codes, b.Code)
	}
	if want := []string{"A-14-C-4", "A-13-C-4", "A-12-C-4"}; !slices.Equal(codes, want) || pages != 2 {
		t.Fatalf("bins %v in %d pages, want %v (walking order) in 2", codes, pages, want)
	}
	e.call("PATCH", "/v1/warehouses/BLR/bins/A-12-C-4", map[string]any{"pick_sequence": 9}, http.StatusOK, &b)
	if b.PickSeq != 9 {
		t.Fatalf("patched bin %+v", b)
	}
	wantError(t, e.do("PATCH", "/v1/warehouses/BLR/bins/A-12-C-4", e.admin, map[string]any{"zone": "B"}), 400, "invalid", "zone")
	e.call("DELETE", "/v1/warehouses/BLR/bins/A-13-C-4", nil, http.StatusOK, &b)
	if b.Active {
		t.Fatal("bin still active")
	}
	e.call("GET", "/v1/warehouses/BLR/bins/A-13-C-4", nil, http.StatusOK, &b)
	if b.Active {
		t.Fatal("deactivation not saved")
	}
	e.call("DELETE", "/v1/warehouses/DEL", nil, http.StatusOK, &w)
	if w.Active {
		t.Fatal("warehouse still active")
	}
	if r := e.do("GET", "/v1/warehouses/BLR/bins", e.merchant, nil); r.status != 200 {
		t.Fatalf("merchant bin list: %d", r.status)
	}
}
