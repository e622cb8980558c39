package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

var productTests = map[string]func(*testing.T, Harness){
	"CreateGet":        testProductCreateGet,
	"Duplicate":        testProductDuplicate,
	"Update":           testProductUpdate,
	"ListPages":        testProductListPages,
	"ListActiveFilter": testProductListActive,
	"ViewIsReadOnly":   testViewIsReadOnly,
}

func sameProduct(t testing.TB, got, want *fulfill.Product) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("product times = %v/%v, want %v/%v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt = w.CreatedAt, w.UpdatedAt
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("product = %+v, want %+v", g, w)
	}
}

func testProductCreateGet(t *testing.T, h Harness) {
	s := open(t, h)
	p := newProduct("WHEY-2KG-CHOC")
	p.Barcode = gtin(890123)
	p.OutOfStockPolicy = fulfill.PolicyBackorder
	update(t, s, func(tx fulfill.Tx) error { return tx.CreateProduct(t.Context(), p) })
	view(t, s, func(tx fulfill.Tx) error {
		got, err := tx.GetProduct(t.Context(), p.SKU)
		if err != nil {
			return err
		}
		sameProduct(t, got, p)
		_, err = tx.GetProduct(t.Context(), "NOPE")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}

func testProductDuplicate(t *testing.T, h Harness) {
	s := open(t, h)
	a, b := newProduct("A"), newProduct("B")
	a.Barcode = gtin(1)
	update(t, s, func(tx fulfill.Tx) error {
		if err := tx.CreateProduct(t.Context(), a); err != nil {
			return err
		}
		return tx.CreateProduct(t.Context(), b) // empty barcodes never collide
	})
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateProduct(t.Context(), newProduct("A"))
	}), fulfill.EAlreadyExists)
	c := newProduct("C")
	c.Barcode = a.Barcode
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateProduct(t.Context(), c)
	}), fulfill.EAlreadyExists)
	d := newProduct("D")
	update(t, s, func(tx fulfill.Tx) error { return tx.CreateProduct(t.Context(), d) })
}

func testProductUpdate(t *testing.T, h Harness) {
	s := open(t, h)
	a, b := newProduct("A"), newProduct("B")
	a.Barcode, b.Barcode = gtin(1), gtin(2)
	update(t, s, func(tx fulfill.Tx) error {
		if err := tx.CreateProduct(t.Context(), a); err != nil {
			return err
		}
		return tx.CreateProduct(t.Context(), b)
	})
	a2 := *a
	a2.Name, a2.Price.Amount, a2.Active, a2.Barcode = "Renamed", 5, false, gtin(3)
	a2.WeightGrams, a2.DimensionsMM.Height = 7, 9
	a2.OutOfStockPolicy = fulfill.PolicyRefund
	a2.UpdatedAt = ts.Add(90 * 60e9)
	update(t, s, func(tx fulfill.Tx) error { return tx.UpdateProduct(t.Context(), &a2) })
	view(t, s, func(tx fulfill.Tx) error {
		got, err := tx.GetProduct(t.Context(), "A")
		if err != nil {
			return err
		}
		sameProduct(t, got, &a2)
		return nil
	})
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.UpdateProduct(t.Context(), newProduct("MISSING"))
	}), fulfill.ENotFound)
	b2 := *b
	b2.Barcode = a2.Barcode
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.UpdateProduct(t.Context(), &b2)
	}), fulfill.EAlreadyExists)
}

func testProductListPages(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 25
	update(t, s, func(tx fulfill.Tx) error {
		for i := n - 1; i >= 0; i-- { // inserted out of order
			if err := tx.CreateProduct(t.Context(), newProduct(fmt.Sprintf("SKU-%03d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	var all []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var got []fulfill.Product
		view(t, s, func(tx fulfill.Tx) (err error) {
			got, err = tx.ListProducts(t.Context(), fulfill.Page{After: after, Limit: 10}, nil)
			return err
		})
		if len(got) > 10 {
			t.Fatalf("page of %d, limit 10", len(got))
		}
		if len(got) == 0 {
			break
		}
		for _, p := range got {
			all = append(all, p.SKU)
		}
		after = got[len(got)-1].SKU
	}
	if len(all) != n {
		t.Fatalf("listed %d products, want %d", len(all), n)
	}
	for i, sku := range all {
		if want := fmt.Sprintf("SKU-%03d", i); sku != want {
			t.Fatalf("product %d = %s, want %s (SKU order)", i, sku, want)
		}
	}
	view(t, s, func(tx fulfill.Tx) error {
		got, err := tx.ListProducts(t.Context(), fulfill.Page{}, nil)
		if err == nil && len(got) != n {
			t.Fatalf("default limit listed %d, want %d", len(got), n)
		}
		return err
	})
}

func testProductListActive(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx fulfill.Tx) error {
		for i := range 6 {
			p := newProduct(fmt.Sprintf("P%d", i))
			p.Active = i%3 != 0 // P0, P3 inactive
			if err := tx.CreateProduct(t.Context(), p); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range []struct {
		active *bool
		want   []string
	}{
		{ptr(true), []string{"P1", "P2", "P4", "P5"}},
		{ptr(false), []string{"P0", "P3"}},
		{nil, []string{"P0", "P1", "P2", "P3", "P4", "P5"}},
	} {
		view(t, s, func(tx fulfill.Tx) error {
			got, err := tx.ListProducts(t.Context(), fulfill.Page{Limit: 100}, c.active)
			if err != nil {
				return err
			}
			var skus []string
			for _, p := range got {
				skus = append(skus, p.SKU)
			}
			if !reflect.DeepEqual(skus, c.want) {
				t.Fatalf("active=%v listed %v, want %v", c.active, skus, c.want)
			}
			return nil
		})
	}
}

func testViewIsReadOnly(t *testing.T, h Harness) {
	s := open(t, h)
	err := s.View(t.Context(), func(tx fulfill.Tx) error {
		return tx.CreateProduct(t.Context(), newProduct("RO"))
	})
	if err == nil {
		t.Fatal("CreateProduct inside View succeeded")
	}
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.GetProduct(t.Context(), "RO")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}

func ptr[T any](v T) *T { return &v }

var warehouseTests = map[string]func(*testing.T, Harness){
	"CreateGetUpdate": testWarehouseCRUD,
	"ListPages":       testWarehouseList,
}

func testWarehouseCRUD(t *testing.T, h Harness) {
	s := open(t, h)
	w := newWarehouse("BLR1")
	update(t, s, func(tx fulfill.Tx) error { return tx.CreateWarehouse(t.Context(), w) })
	check := func(want *fulfill.Warehouse) {
		view(t, s, func(tx fulfill.Tx) error {
			got, err := tx.GetWarehouse(t.Context(), want.Code)
			if err != nil {
				return err
			}
			if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
				t.Fatalf("warehouse times = %v/%v", got.CreatedAt, got.UpdatedAt)
			}
			g := *got
			g.CreatedAt, g.UpdatedAt = want.CreatedAt, want.UpdatedAt
			if !reflect.DeepEqual(&g, want) {
				t.Fatalf("warehouse = %+v, want %+v", g, *want)
			}
			return nil
		})
	}
	check(w)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateWarehouse(t.Context(), newWarehouse("BLR1"))
	}), fulfill.EAlreadyExists)
	w2 := *w
	w2.Name, w2.Address.City, w2.CutoffTime, w2.Active, w2.Latitude = "Renamed", "Mysuru", "18:30", false, -33.5
	update(t, s, func(tx fulfill.Tx) error { return tx.UpdateWarehouse(t.Context(), &w2) })
	check(&w2)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.UpdateWarehouse(t.Context(), newWarehouse("NOPE"))
	}), fulfill.ENotFound)
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.GetWarehouse(t.Context(), "NOPE")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}

func testWarehouseList(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx fulfill.Tx) error {
		for i := 11; i >= 0; i-- {
			w := newWarehouse(fmt.Sprintf("W%02d", i))
			w.Active = i != 4
			if err := tx.CreateWarehouse(t.Context(), w); err != nil {
				return err
			}
		}
		return nil
	})
	var codes []string
	after := ""
	for range 10 {
		var got []fulfill.Warehouse
		view(t, s, func(tx fulfill.Tx) (err error) {
			got, err = tx.ListWarehouses(t.Context(), fulfill.Page{After: after, Limit: 5}, nil)
			return err
		})
		if len(got) == 0 {
			break
		}
		for _, w := range got {
			codes = append(codes, w.Code)
		}
		after = got[len(got)-1].Code
	}
	if len(codes) != 12 || codes[0] != "W00" || codes[11] != "W11" {
		t.Fatalf("listed %v, want W00..W11 in order", codes)
	}
	view(t, s, func(tx fulfill.Tx) error {
		got, err := tx.ListWarehouses(t.Context(), fulfill.Page{}, ptr(false))
		if err == nil && (len(got) != 1 || got[0].Code != "W04") {
			t.Fatalf("inactive warehouses = %v, want [W04]", got)
		}
		return err
	})
}

var binTests = map[string]func(*testing.T, Harness){
	"CreateGetUpdate": testBinCRUD,
	"ListOrder":       testBinList,
}

func testBinCRUD(t *testing.T, h Harness) {
	s := open(t, h)
	b := newBin("W1", "A", "12", 10)
	b.Position = "2"
	b.Code = fulfill.BinCode(b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateBin(t.Context(), b)
	}), fulfill.ENotFound)
	update(t, s, func(tx fulfill.Tx) error {
		if err := tx.CreateWarehouse(t.Context(), newWarehouse("W1")); err != nil {
			return err
		}
		if err := tx.CreateWarehouse(t.Context(), newWarehouse("W2")); err != nil {
			return err
		}
		if err := tx.CreateBin(t.Context(), b); err != nil {
			return err
		}
		other := *b
		other.Warehouse = "W2" // the same code in another warehouse is fine
		return tx.CreateBin(t.Context(), &other)
	})
	check := func(want *fulfill.Bin) {
		view(t, s, func(tx fulfill.Tx) error {
			got, err := tx.GetBin(t.Context(), want.Warehouse, want.Code)
			if err != nil {
				return err
			}
			g := *got
			if !g.CreatedAt.Equal(want.CreatedAt) || !g.UpdatedAt.Equal(want.UpdatedAt) {
				t.Fatalf("bin times = %v/%v", g.CreatedAt, g.UpdatedAt)
			}
			g.CreatedAt, g.UpdatedAt = want.CreatedAt, want.UpdatedAt
			if !reflect.DeepEqual(&g, want) {
				t.Fatalf("bin = %+v, want %+v", g, *want)
			}
			return nil
		})
	}
	check(b)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		dup := *b
		return tx.CreateBin(t.Context(), &dup)
	}), fulfill.EAlreadyExists)
	b2 := *b
	b2.PickSeq, b2.Active = 99, false
	update(t, s, func(tx fulfill.Tx) error { return tx.UpdateBin(t.Context(), &b2) })
	check(&b2)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.UpdateBin(t.Context(), newBin("W1", "Z", "9", 1))
	}), fulfill.ENotFound)
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.GetBin(t.Context(), "W1", "Z-9-C-4")
		wantCode(t, err, fulfill.ENotFound)
		_, err = tx.GetBin(t.Context(), "NOPE", b.Code)
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}

func testBinList(t *testing.T, h Harness) {
	s := open(t, h)
	// Pick sequence disagrees with code order, and two bins share a sequence.
	seqs := map[string]int64{"1": 50, "2": 10, "3": 30, "4": 30, "5": 20, "6": 40, "7": 0}
	update(t, s, func(tx fulfill.Tx) error {
		for _, code := range []string{"W1", "W2"} {
			if err := tx.CreateWarehouse(t.Context(), newWarehouse(code)); err != nil {
				return err
			}
		}
		for aisle, seq := range seqs {
			if err := tx.CreateBin(t.Context(), newBin("W1", "A", aisle, seq)); err != nil {
				return err
			}
		}
		return tx.CreateBin(t.Context(), newBin("W2", "A", "1", 1))
	})
	want := []string{"A-7-C-4", "A-2-C-4", "A-5-C-4", "A-3-C-4", "A-4-C-4", "A-6-C-4", "A-1-C-4"}
	var got []string
	after := ""
	for range 10 {
		var page []fulfill.Bin
		view(t, s, func(tx fulfill.Tx) (err error) {
			page, err = tx.ListBins(t.Context(), "W1", fulfill.Page{After: after, Limit: 3})
			return err
		})
		if len(page) == 0 {
			break
		}
		for _, b := range page {
			if b.Warehouse != "W1" {
				t.Fatalf("ListBins(W1) returned a bin of %s", b.Warehouse)
			}
			got = append(got, b.Code)
		}
		after = page[len(page)-1].Code
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bins = %v, want %v (pick sequence, then code)", got, want)
	}
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.ListBins(t.Context(), "NOPE", fulfill.Page{})
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}
