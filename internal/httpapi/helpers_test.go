package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/httpapi"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

// env is one API server on its own SQLite file.
type env struct {
	t        testing.TB
	url      string
	store    *sqlite.Store
	app      *app.App
	admin    string
	merchant string
}

// quiet is a logger that drops everything: background goroutines may log
// after a test ends, when t.Log would panic.
func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv starts a server; reg, when set, registers job handlers and the
// queue is started.
func newEnv(t *testing.T, reg *queue.Registry) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.Config{
		Path:   filepath.Join(t.TempDir(), "f.db"),
		Logger: quiet(),
		Queue: queue.Config{Registry: reg, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
			PollInterval: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := app.New(st, app.Options{Logger: quiet()})
	admin, created, err := a.EnsureBootstrapKey(ctx)
	if err != nil || !created {
		t.Fatalf("bootstrap key: %v %v", created, err)
	}
	merchant, _, err := a.CreateAPIKey(ctx, fulfill.RoleMerchant, "shop")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{
		App: a, Store: st, Logger: quiet(), MaxBodyBytes: 4096, Version: "test",
	}))
	t.Cleanup(srv.Close)
	if reg != nil {
		if err := st.Jobs().Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = st.Jobs().Stop(sctx)
		})
	}
	return &env{t: t, url: srv.URL, store: st, app: a, admin: admin, merchant: merchant}
}

// response is one answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errBody is the error model.
type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// do sends a request with key (none when ""). body is sent as is when it is
// a string, else as JSON.
func (e *env) do(method, path, key string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// call sends an admin request, checks the status and decodes the answer
// into out (when not nil).
func (e *env) call(method, path string, body any, want int, out any) response {
	e.t.Helper()
	r := e.do(method, path, e.admin, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, r.body, err)
		}
	}
	return r
}

// wantError checks an error answer; field "*" accepts any field (for
// errors whose field the store chooses).
func wantError(t *testing.T, r response, status int, code, field string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var eb errBody
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if eb.Error.Code != code || (field != "*" && eb.Error.Field != field) || eb.Error.Message == "" {
		t.Fatalf("error %+v, want code %q field %q", eb.Error, code, field)
	}
}

// page is the list envelope.
type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// listAll follows next_cursor through every page of path (which already
// has a query) and returns all rows and the number of pages.
func listAll[T any](e *env, path string) ([]T, int) {
	e.t.Helper()
	var all []T
	cursor, pages := "", 0
	for {
		var p page[T]
		e.call("GET", path+"&cursor="+cursor, nil, http.StatusOK, &p)
		all = append(all, p.Data...)
		pages++
		if p.NextCursor == "" {
			return all, pages
		}
		if pages > 100 {
			e.t.Fatal("too many pages")
		}
		cursor = p.NextCursor
	}
}

// Fixtures.

func productBody(sku string) map[string]any {
	return map[string]any{
		"sku": sku, "name": "Whey Protein 2kg " + sku, "barcode": "4006381333931",
		"price": map[string]any{"amount": 249900, "currency": "INR"}, "weight_grams": 2100,
		"dimensions_mm": map[string]any{"length": 300, "width": 200, "height": 150},
	}
}

func warehouseBody(code string) map[string]any {
	return map[string]any{
		"code": code, "name": "Warehouse " + code,
		"address":  map[string]any{"line1": "1 MG Road", "city": "Bengaluru", "postal_code": "560001", "country": "IN"},
		"latitude": 12.97, "longitude": 77.59, "cutoff_time": "17:00", "time_zone": "Asia/Kolkata",
	}
}

func binBody(aisle string, seq int) map[string]any {
	return map[string]any{"zone": "A", "aisle": aisle, "rack": "C", "shelf": "4", "pick_sequence": seq}
}

// seed makes one product (no barcode), one warehouse BLR and bin A-12-C-4.
func (e *env) seed(sku string) {
	e.t.Helper()
	p := productBody(sku)
	delete(p, "barcode")
	e.call("POST", "/v1/products", p, http.StatusCreated, nil)
	if r := e.do("GET", "/v1/warehouses/BLR", e.admin, nil); r.status == http.StatusNotFound {
		e.call("POST", "/v1/warehouses", warehouseBody("BLR"), http.StatusCreated, nil)
		e.call("POST", "/v1/warehouses/BLR/bins", binBody("12", 1), http.StatusCreated, nil)
	}
}
