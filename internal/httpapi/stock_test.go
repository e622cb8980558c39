package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

func TestStock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.seed("WHEY-1")

	var le fulfill.LedgerEntry
	e.call("POST", "/v1/stock/receipts", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity": 10, "reference": "PO-7"}, http.StatusCreated, &le)
	if le.Kind != fulfill.MoveReceipt || le.OnHandDelta != 10 || le.OnHandAfter != 10 || le.Actor == "" || le.Cause != "receipt PO-7" {
		t.Fatalf("receipt %+v", le)
	}
	e.call("POST", "/v1/stock/adjustments", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity_delta": -3, "reason": "damaged"}, http.StatusCreated, &le)
	if le.Kind != fulfill.MoveAdjustment || le.OnHandAfter != 7 || le.Cause != "damaged" {
		t.Fatalf("adjustment %+v", le)
	}

	bad := []struct {
		name, path string
		body       map[string]any
		status     int
		code       string
		field      string
	}{
		{"zero receipt", "/v1/stock/receipts", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity": 0}, 400, "invalid", "quantity"},
		{"negative receipt", "/v1/stock/receipts", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity": -5}, 400, "invalid", "quantity"},
		{"unknown sku", "/v1/stock/receipts", map[string]any{"sku": "NOPE", "warehouse": "BLR", "bin": "A-12-C-4", "quantity": 5}, 404, "not_found", "*"},
		{"unknown bin", "/v1/stock/receipts", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "Z-1-1-1", "quantity": 5}, 404, "not_found", "*"},
		{"zero delta", "/v1/stock/adjustments", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity_delta": 0, "reason": "x"}, 400, "invalid", "quantity_delta"},
		{"no reason", "/v1/stock/adjustments", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity_delta": 1}, 400, "invalid", "reason"},
		{"below zero", "/v1/stock/adjustments", map[string]any{"sku": "WHEY-1", "warehouse": "BLR", "bin": "A-12-C-4", "quantity_delta": -8, "reason": "lost"}, 409, "insufficient_stock", "*"},
	}
	for _, c := range bad {
		r := e.do("POST", c.path, e.admin, c.body)
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		wantError(t, r, c.status, c.code, c.field)
	}

	var levels page[fulfill.StockLevel]
	e.call("GET", "/v1/stock?sku=WHEY-1", nil, http.StatusOK, &levels)
	if len(levels.Data) != 1 || levels.Data[0].OnHand != 7 || levels.Data[0].Available != 7 || levels.Data[0].Warehouse != "BLR" {
		t.Fatalf("levels %+v", levels)
	}
	var bins page[fulfill.BinStock]
	e.call("GET", "/v1/stock/bins?warehouse=BLR", nil, http.StatusOK, &bins)
	if len(bins.Data) != 1 || bins.Data[0].Bin != "A-12-C-4" || bins.Data[0].OnHand != 7 {
		t.Fatalf("bin stock %+v", bins)
	}
	ledger, pages := listAll[fulfill.LedgerEntry](e, "/v1/stock/ledger?sku=WHEY-1&limit=1")
	if len(ledger) != 2 || pages != 2 || ledger[0].Kind != fulfill.MoveReceipt || ledger[1].Kind != fulfill.MoveAdjustment {
		t.Fatalf("ledger %+v in %d pages (refused movements must write nothing)", ledger, pages)
	}
	wantError(t, e.do("GET", "/v1/stock/ledger?cursor=!!", e.admin, nil), 400, "invalid", "cursor")
	if r := e.do("GET", "/v1/stock", e.merchant, nil); r.status != 200 {
		t.Fatalf("merchant stock read: %d", r.status)
	}
	wantError(t, e.do("POST", "/v1/stock/receipts", e.merchant, map[string]any{"sku": "WHEY-1"}), 403, "forbidden", "")
}
