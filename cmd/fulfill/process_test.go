package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
)

type ledgerJSON struct {
	ID          int64  `json:"id"`
	SKU         string `json:"sku"`
	Warehouse   string `json:"warehouse"`
	Bin         string `json:"bin"`
	Kind        string `json:"kind"`
	OnHandDelta int64  `json:"on_hand_delta"`
}

type stockJSON struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

type jobJSON struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	State string `json:"state"`
}

// TestKill9KeepsAcknowledgedWrites: a stock receipt that got 201 survives
// kill -9 of the process, and the ledger still sums to the stock on hand;
// then SIGTERM ends the restarted process gracefully with status 0.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startProc(t, dir)
	if p.key == "" {
		t.Fatalf("no admin key printed:\n%s", p.out)
	}
	receipt := map[string]any{"sku": "WHEY-2KG-CHOC", "warehouse": "BLR-1", "bin": "A-1-A-1", "quantity": 7, "reference": "PO-kill9"}
	status, body := call(t, http.MethodPost, p.base+"/v1/stock/receipts", p.key, receipt)
	if status != http.StatusCreated {
		t.Fatalf("POST /v1/stock/receipts = %d %s", status, body)
	}
	var entry ledgerJSON
	if err := json.Unmarshal(body, &entry); err != nil || entry.ID == 0 {
		t.Fatalf("receipt answer %s: %v", body, err)
	}
	key := p.key
	if err := p.signal(t, syscall.SIGKILL); err == nil {
		t.Fatalf("kill -9 ended the process with status 0?")
	}

	p = startProc(t, dir, "FULFILL_SHUTDOWN_TIMEOUT=20s")
	if p.key != "" {
		t.Errorf("a second bootstrap key was created after the restart")
	}
	ledger := ledgerMatchesStock(t, p.base, key, "WHEY-2KG-CHOC", "BLR-1")
	found := false
	for _, e := range ledger {
		if e.ID == entry.ID {
			found = e.Kind == "receipt" && e.OnHandDelta == 7 && e.Bin == "A-1-A-1"
		}
	}
	if !found {
		t.Errorf("the acknowledged receipt %d is not in the ledger after kill -9: %+v", entry.ID, ledger)
	}

	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v, want a graceful exit with status 0\nstdout:\n%s\nstderr:\n%s", err, p.out, p.stderr)
	}
	if !strings.Contains(p.out.String(), "stopped") {
		t.Errorf("no graceful shutdown in the output:\n%s", p.out)
	}
}

// ledgerMatchesStock checks that the ledger of sku in warehouse sums to the
// stock on hand, and returns the ledger.
func ledgerMatchesStock(t *testing.T, base, key, sku, warehouse string) []ledgerJSON {
	t.Helper()
	q := fmt.Sprintf("?sku=%s&warehouse=%s", sku, warehouse)
	ledger := getAll[ledgerJSON](t, base+"/v1/stock/ledger"+q+"&limit=50", key)
	var sum int64
	for _, e := range ledger {
		sum += e.OnHandDelta
	}
	var levels page[stockJSON]
	getJSON(t, base+"/v1/stock"+q, key, &levels)
	if len(levels.Data) != 1 {
		t.Fatalf("GET /v1/stock%s = %+v, want one row", q, levels.Data)
	}
	if got := levels.Data[0]; got.OnHand != sum || got.OnHand != got.Reserved+got.Available {
		t.Errorf("stock %+v, ledger sum %d: on hand must equal the ledger sum and reserved + available", got, sum)
	}
	return ledger
}

// TestJobSurvivesKill9: a job committed but not yet run when the process is
// killed runs after the restart.
func TestJobSurvivesKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// With no workers, serve queues the start-up audit for a worker node
	// and works nothing itself.
	p := startProc(t, dir, "FULFILL_WORKERS=0")
	var jobs page[jobJSON]
	getJSON(t, p.base+"/v1/jobs?kind=audit_stock", p.key, &jobs)
	if len(jobs.Data) != 1 || jobs.Data[0].State != "available" {
		t.Fatalf("audit jobs before the kill = %+v, want one available", jobs.Data)
	}
	id := jobs.Data[0].ID
	key := p.key
	if err := p.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("kill -9 ended the process with status 0?")
	}

	p = startProc(t, dir)
	deadline := time.Now().Add(60 * time.Second)
	var job jobJSON
	for time.Now().Before(deadline) {
		getJSON(t, fmt.Sprintf("%s/v1/jobs/%d", p.base, id), key, &job)
		if job.State == "completed" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if job.State != "completed" {
		t.Fatalf("job %d is %q 60s after the restart, want completed", id, job.State)
	}
	var done page[jobJSON]
	getJSON(t, p.base+"/v1/jobs?kind=audit_stock&state=completed", key, &done)
	found := false
	for _, j := range done.Data {
		found = found || j.ID == id
	}
	if !found {
		t.Errorf("GET /v1/jobs?kind=audit_stock&state=completed = %+v, want job %d in it", done.Data, id)
	}
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v, want a graceful exit with status 0\nstdout:\n%s\nstderr:\n%s", err, p.out, p.stderr)
	}
	if !strings.Contains(p.out.String(), "stopped") {
		t.Errorf("no graceful shutdown in the output:\n%s", p.out)
	}
}

// TestWebhookSurvivesKill9: a payment webhook acknowledged by a process
// that works no jobs (so the event is still only in the SQLite inbox file)
// is applied after kill -9 and a restart: the order is paid and reserved.
func TestWebhookSurvivesKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startProc(t, dir, "FULFILL_WORKERS=0")
	key := p.key
	o := checkout(t, p.server, checkoutBody("sandbox", "automatic", 1))
	secret, err := os.ReadFile(filepath.Join(dir, "sandbox-webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := sandbox.SucceededEventJSON("evt_kill9_"+randomHex(t), o.Payment.IntentID, o.ID, o.Total, now)
	hdr := map[string]string{sandbox.SignatureHeader: sandbox.Sign(strings.TrimSpace(string(secret)), now, body)}
	resp, raw := send(t, http.MethodPost, p.base+"/webhooks/sandbox", "", hdr, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook = %d %s", resp.StatusCode, raw)
	}
	if err := p.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("kill -9 ended the process with status 0?")
	}

	p = startProc(t, dir)
	p.key = key
	got := waitOrder(t, p.server, o.ID, "reserved", "payment_failed", "exception")
	if countTo(got, "paid") != 1 {
		t.Errorf("timeline %+v: want one move to paid", got.Timeline)
	}
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v\nstderr:\n%s", err, p.stderr)
	}
}
