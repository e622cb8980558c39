package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

func TestImportCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	products := "name,sku,price,currency,barcode,weight_grams\n" +
		"Whey 2kg,WHEY-1,249900,INR,4006381333931,2100\n" +
		"Bad barcode,BAD-1,100,INR,4006381333932,10\n" +
		"\n" +
		"Oats 1kg,OATS-1,39900,inr,,1000\n" +
		"No price,BAD-2,,INR,,1\n" +
		"Bad price,BAD-3,12.5,INR,,1\n"
	var rep app.ImportReport
	e.call("POST", "/v1/imports/products", products, http.StatusOK, &rep)
	if rep.RowsRead != 5 || rep.Created != 2 || len(rep.Rejected) != 3 {
		t.Fatalf("report %+v", rep)
	}
	want := []app.RejectedRow{{Line: 3, Field: "barcode"}, {Line: 6, Field: "price"}, {Line: 7, Field: "price"}}
	for i, w := range want {
		got := rep.Rejected[i]
		if got.Line != w.Line || got.Field != w.Field || got.Reason == "" {
			t.Fatalf("rejected[%d] = %+v, want line %d field %s", i, got, w.Line, w.Field)
		}
	}
	var p fulfill.Product
	e.call("GET", "/v1/products/OATS-1", nil, http.StatusOK, &p)
	if p.Price.Currency != "INR" || p.Price.Amount != 39900 || !p.Active {
		t.Fatalf("imported %+v", p)
	}
	e.call("POST", "/v1/imports/products", products, http.StatusOK, &rep)
	if rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 2 || len(rep.Rejected) != 3 {
		t.Fatalf("re-import %+v", rep)
	}

	// An unknown column refuses the whole file.
	wantError(t, e.do("POST", "/v1/imports/products", e.admin, "sku,name,price,currency,colour\nX-1,X,1,INR,red\n"), 400, "invalid", "colour")
	wantError(t, e.do("GET", "/v1/products/X-1", e.admin, nil), 404, "not_found", "*")

	e.call("POST", "/v1/imports/warehouses", "code,name,city,latitude,longitude,cutoff_time,time_zone\nBLR,Bengaluru,Bengaluru,12.97,77.59,17:00,Asia/Kolkata\n", http.StatusOK, &rep)
	e.call("POST", "/v1/imports/bins", "warehouse,zone,aisle,rack,shelf,pick_sequence\nBLR,A,12,C,4,1\nBLR,A,12,C,5,2\nNOPE,A,1,1,1,1\n", http.StatusOK, &rep)
	if rep.Created != 2 || len(rep.Rejected) != 1 || rep.Rejected[0].Line != 4 || rep.Rejected[0].Field != "warehouse" {
		t.Fatalf("bins report %+v", rep)
	}
	stock := "sku,warehouse,bin,quantity\nWHEY-1,BLR,A-12-C-4,10\nOATS-1,BLR,A-12-C-5,5\nWHEY-1,BLR,A-12-C-9,1\nOATS-1,BLR,A-12-C-4,-2\n"
	e.call("POST", "/v1/imports/stock", stock, http.StatusOK, &rep)
	if rep.Created != 2 || len(rep.Rejected) != 2 || rep.Rejected[1].Field != "quantity" {
		t.Fatalf("stock report %+v", rep)
	}
	e.call("POST", "/v1/imports/stock", stock, http.StatusOK, &rep)
	if rep.Unchanged != 2 || rep.Created+rep.Updated != 0 {
		t.Fatalf("stock re-import %+v", rep)
	}
	e.call("POST", "/v1/imports/stock", "sku,warehouse,bin,quantity\nWHEY-1,BLR,A-12-C-4,8\n", http.StatusOK, &rep)
	if rep.Updated != 1 {
		t.Fatalf("recount %+v", rep)
	}
	ledger, _ := listAll[fulfill.LedgerEntry](e, "/v1/stock/ledger?sku=WHEY-1")
	if len(ledger) != 2 || ledger[1].Kind != fulfill.MoveAdjustment || ledger[1].OnHandDelta != -2 || ledger[1].OnHandAfter != 8 {
		t.Fatalf("ledger %+v", ledger)
	}
	wantError(t, e.do("POST", "/v1/imports/products", e.merchant, products), 403, "forbidden", "")
}

// failArgs is a job whose handler always fails.
type failArgs struct {
	N int `json:"n"`
}

func (failArgs) Kind() string { return "always_fail" }

func TestJobs(t *testing.T) {
	t.Parallel()
	reg := queue.NewRegistry()
	queue.Handle(reg, func(context.Context, failArgs) error { return errors.New("boom") })
	e := newEnv(t, reg)
	err := e.store.Update(t.Context(), func(tx fulfill.Tx) error {
		return tx.Enqueue(t.Context(), failArgs{N: 1}, &fulfill.JobOpts{MaxAttempts: 1})
	})
	if err != nil {
		t.Fatal(err)
	}

	var dead page[fulfill.Job]
	deadline := time.Now().Add(15 * time.Second)
	for len(dead.Data) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the failing job never became dead")
		}
		time.Sleep(50 * time.Millisecond)
		e.call("GET", "/v1/jobs?state=dead&kind=always_fail", nil, http.StatusOK, &dead)
	}
	j := dead.Data[0]
	if j.State != fulfill.JobDead || len(j.Errors) == 0 || !strings.Contains(j.Errors[0], "boom") {
		t.Fatalf("dead job %+v", j)
	}
	var got fulfill.Job
	e.call("GET", fmt.Sprintf("/v1/jobs/%d", j.ID), nil, http.StatusOK, &got)
	if got.ID != j.ID || got.Kind != "always_fail" || string(got.Args) != `{"n":1}` {
		t.Fatalf("job %+v", got)
	}
	if m := string(e.do("GET", "/metrics", "", nil).body); !strings.Contains(m, `fulfill_jobs{kind="always_fail",state="dead"} 1`) {
		t.Errorf("metrics lack the dead job gauge:\n%s", grep(m, "fulfill_jobs"))
	}
	var retried fulfill.Job
	e.call("POST", fmt.Sprintf("/v1/jobs/%d/retry", j.ID), nil, http.StatusOK, &retried)
	if retried.State == fulfill.JobDead {
		t.Fatalf("retried job still dead: %+v", retried)
	}
	wantError(t, e.do("GET", "/v1/jobs/999999", e.admin, nil), 404, "not_found", "*")
	wantError(t, e.do("POST", "/v1/jobs/999999/retry", e.admin, nil), 404, "not_found", "*")
	wantError(t, e.do("GET", "/v1/jobs?state=bogus", e.admin, nil), 400, "invalid", "state")
	wantError(t, e.do("GET", "/v1/jobs", e.merchant, nil), 403, "forbidden", "")
}

func TestKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var created struct {
		fulfill.APIKey
		Secret string `json:"secret"`
	}
	r := e.call("POST", "/v1/keys", map[string]any{"role": "device", "name": "handheld 1"}, http.StatusCreated, &created)
	if !strings.HasPrefix(created.Secret, "ffk_") || created.Role != fulfill.RoleDevice || !strings.HasPrefix(created.ID, "key_") ||
		!strings.HasPrefix(created.Secret, "ffk_"+created.Prefix) || len(created.Prefix) != 8 {
		t.Fatalf("created %s", r.body)
	}
	wantError(t, e.do("POST", "/v1/keys", e.admin, map[string]any{"role": "root", "name": "x"}), 400, "invalid", "role")
	if r := e.do("GET", "/v1/products", created.Secret, nil); r.status != 200 {
		t.Fatalf("device read: %d", r.status)
	}
	wantError(t, e.do("POST", "/v1/products", created.Secret, productBody("X")), 403, "forbidden", "")

	var keys page[json.RawMessage]
	e.call("GET", "/v1/keys", nil, http.StatusOK, &keys)
	if len(keys.Data) != 3 {
		t.Fatalf("%d keys, want 3", len(keys.Data))
	}
	for _, k := range keys.Data {
		if strings.Contains(string(k), "hash") || strings.Contains(string(k), "ffk_") {
			t.Fatalf("key list shows a secret: %s", k)
		}
	}
	if r := e.do("DELETE", "/v1/keys/"+created.ID, e.admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	wantError(t, e.do("GET", "/v1/products", created.Secret, nil), 401, "unauthenticated", "")
	wantError(t, e.do("DELETE", "/v1/keys/key_nope", e.admin, nil), 404, "not_found", "*")
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do("GET", "/healthz", "", nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Fatalf("healthz %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	var idx struct {
		Name, Version string
		Links         map[string]string
	}
	if r := e.do("GET", "/", "", nil); r.status != 200 || json.Unmarshal(r.body, &idx) != nil || idx.Name != "fulfill" || idx.Version != "test" {
		t.Fatalf("index %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/openapi.yaml", "", nil); r.status != 200 || !strings.HasPrefix(string(r.body), "openapi: 3.0") {
		t.Fatalf("openapi %d", r.status)
	}
	e.do("GET", "/v1/products/NOPE", e.admin, nil)
	m := string(e.do("GET", "/metrics", "", nil).body)
	for _, want := range []string{
		`fulfill_http_requests_total{method="GET",route="/v1/products/{sku}",status="404"} 1`,
		`fulfill_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`fulfill_http_request_duration_seconds_bucket{method="GET",route="/v1/products/{sku}",status="404",le="+Inf"} 1`,
		"fulfill_queue_lag_seconds 0",
		"go_goroutines",
		"process_",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, "NOPE") {
		t.Error("metrics use the raw path")
	}
}

// grep returns the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
