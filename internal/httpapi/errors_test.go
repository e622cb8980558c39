package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

// TestBadInput checks that every kind of bad request gets the right status,
// code and field, and writes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.call("POST", "/v1/products", productBody("TAKEN"), http.StatusCreated, nil)
	good := `{"sku":"NEW-1","name":"New","price":{"amount":100,"currency":"INR"}}`

	cases := []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"malformed JSON", "POST", "/v1/products", "admin", `{"sku":`, 400, "invalid", ""},
		{"not JSON", "POST", "/v1/products", "admin", `sku=NEW-1`, 400, "invalid", ""},
		{"empty body", "POST", "/v1/products", "admin", ``, 400, "invalid", ""},
		{"two values", "POST", "/v1/products", "admin", good + good, 400, "invalid", ""},
		{"unknown field", "POST", "/v1/products", "admin", `{"sku":"NEW-1","colour":"red"}`, 400, "invalid", "colour"},
		{"wrong type", "POST", "/v1/products", "admin", `{"sku":"NEW-1","name":"New","price":{"amount":"100","currency":"INR"}}`, 400, "invalid", "price.amount"},
		{"wrong top type", "POST", "/v1/products", "admin", `[1,2]`, 400, "invalid", ""},
		{"negative price", "POST", "/v1/products", "admin", `{"sku":"NEW-1","name":"New","price":{"amount":-1,"currency":"INR"}}`, 400, "invalid", "price.amount"},
		{"bad GTIN check digit", "POST", "/v1/products", "admin", `{"sku":"NEW-1","name":"New","barcode":"4006381333932","price":{"amount":100,"currency":"INR"}}`, 400, "invalid", "barcode"},
		{"duplicate SKU", "POST", "/v1/products", "admin", `{"sku":"TAKEN","name":"New","price":{"amount":100,"currency":"INR"}}`, 409, "already_exists", "sku"},
		{"negative quantity", "POST", "/v1/stock/receipts", "admin", `{"sku":"TAKEN","warehouse":"BLR","bin":"A-1-1-1","quantity":-1}`, 400, "invalid", "quantity"},
		{"missing key", "POST", "/v1/products", "", good, 401, "unauthenticated", ""},
		{"wrong key", "POST", "/v1/products", "ffk_nottherightkeyatall", good, 401, "unauthenticated", ""},
		{"garbage key", "GET", "/v1/products", "hunter2", "", 401, "unauthenticated", ""},
		{"merchant on admin route", "POST", "/v1/products", "merchant", good, 403, "forbidden", ""},
		{"merchant on keys", "GET", "/v1/keys", "merchant", "", 403, "forbidden", ""},
		{"oversized body", "POST", "/v1/products", "admin", `{"sku":"NEW-1","name":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large", ""},
		{"bad limit", "GET", "/v1/products?limit=0", "admin", "", 400, "invalid", "limit"},
		{"huge limit", "GET", "/v1/products?limit=1001", "admin", "", 400, "invalid", "limit"},
		{"bad cursor", "GET", "/v1/products?cursor=%25%25", "admin", "", 400, "invalid", "cursor"},
		{"bad active", "GET", "/v1/products?active=maybe", "admin", "", 400, "invalid", "active"},
		{"bad job id", "GET", "/v1/jobs/abc", "admin", "", 400, "invalid", "id"},
		{"bad import kind", "POST", "/v1/imports/orders", "admin", "a,b\n", 400, "invalid", "kind"},
		{"no route", "GET", "/v1/nothing", "admin", "", 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := map[string]string{"admin": e.admin, "merchant": e.merchant}[c.key]
			if key == "" {
				key = c.key
			}
			r := e.do(c.method, c.path, key, c.body)
			wantError(t, r, c.status, c.code, c.field)
			if c.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: %v", r.header)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
		})
	}
	// Nothing was written.
	all, _ := listAll[fulfill.Product](e, "/v1/products?limit=10")
	if len(all) != 1 || all[0].SKU != "TAKEN" || all[0].Name != "Whey Protein 2kg TAKEN" {
		t.Fatalf("bad requests wrote something: %+v", all)
	}
	if r := e.do("PUT", "/v1/products", e.admin, good); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", r.status)
	}
}

// TestInternalErrorsDoNotLeak checks that a failing store answers a bare
// internal error.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_ = e.store.Close()
	r := e.do("GET", "/v1/products", e.admin, nil)
	if r.status != 500 && r.status != 503 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "sql") || strings.Contains(string(r.body), "closed") {
		t.Fatalf("error leaks its cause: %s", r.body)
	}
	r = e.do("GET", "/readyz", "", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"database":"failed"`) {
		t.Fatalf("readyz on a closed store: %d %s", r.status, r.body)
	}
}
