package sandbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gatewaytest"
	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
	"github.com/fulfill-dev/fulfill/internal/postgres"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

const (
	secret      = "whsec_sandbox_test_secret"
	wrongSecret = "whsec_someone_else"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a fresh SQLite store; with a registry its queue works
// jobs (and is stopped at cleanup).
func openStore(t *testing.T, reg *queue.Registry) fulfill.Store {
	t.Helper()
	qc := queue.Config{Registry: reg, Logger: quiet(), PollInterval: 50 * time.Millisecond, RetryBase: 100 * time.Millisecond}
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "f.db"), Queue: qc, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newGateway(t *testing.T, st fulfill.Store, cfg sandbox.Config) *sandbox.Gateway {
	t.Helper()
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = secret
	}
	if cfg.WebhookURL == "" {
		cfg.WebhookURL = "http://127.0.0.1:1/webhooks/sandbox"
	}
	g, err := sandbox.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// renderEvent renders a gatewaytest event the way the sandbox does.
func renderEvent(ev gatewaytest.Event, at time.Time) []byte {
	typ, obj := "", map[string]any{
		"id": ev.IntentID, "object": "payment_intent", "amount": ev.Amount.Amount,
		"currency": strings.ToLower(ev.Amount.Currency), "metadata": map[string]string{"order_id": ev.OrderID},
	}
	switch ev.Kind {
	case gatewaytest.KindSucceeded:
		typ, obj["status"], obj["amount_received"] = sandbox.TypeSucceeded, "succeeded", ev.Amount.Amount
	case gatewaytest.KindFailed:
		typ, obj["status"] = sandbox.TypePaymentFailed, "requires_payment_method"
	case gatewaytest.KindRefunded:
		typ, obj["object"], obj["id"] = sandbox.TypeChargeRefunded, "charge", "ch_"+ev.IntentID
		obj["payment_intent"], obj["amount_refunded"] = ev.IntentID, ev.Amount.Amount
	}
	b, _ := json.Marshal(map[string]any{
		"id": ev.ID, "object": "event", "api_version": stripego.APIVersion, "created": at.Unix(),
		"livemode": false, "type": typ, "data": map[string]any{"object": obj},
	})
	return b
}

// TestContract runs the gateway contract suite; the events are signed by
// stripe-go's own test helper, so the sandbox speaks Stripe's scheme.
func TestContract(t *testing.T) {
	t.Parallel()
	st := openStore(t, nil)
	g := newGateway(t, st, sandbox.Config{})
	gatewaytest.Run(t, gatewaytest.Harness{
		Gateway:         g,
		SignatureHeader: sandbox.SignatureHeader,
		SignedEvent: func(t testing.TB, ev gatewaytest.Event, opt gatewaytest.SignOptions) (http.Header, []byte) {
			at := time.Now().Add(-opt.Age)
			body := opt.RawBody
			if body == nil {
				body = renderEvent(ev, at)
			}
			key := secret
			if opt.WrongSecret {
				key = wrongSecret
			}
			sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: key, Timestamp: at})
			h := http.Header{}
			h.Set(sandbox.SignatureHeader, sp.Header)
			return h, body
		},
		Pay: func(t testing.TB, id string) {
			if _, err := g.Confirm(t.Context(), id, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded}); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	st := openStore(t, nil)
	for _, cfg := range []sandbox.Config{
		{WebhookURL: "http://x/webhooks/sandbox"},
		{WebhookSecret: "s", WebhookURL: "not a url"},
		{WebhookSecret: "s", WebhookURL: "ftp://x/y"},
		{WebhookSecret: "s", WebhookURL: "http://x/y", AutoConfirmAfter: -time.Second},
	} {
		if _, err := sandbox.New(cfg, st); !fulfill.IsCode(err, fulfill.EInvalid) {
			t.Errorf("New(%+v) = %v, want invalid", cfg, err)
		}
	}
}

func TestConfirmGuards(t *testing.T) {
	t.Parallel()
	st := openStore(t, nil)
	g := newGateway(t, st, sandbox.Config{})
	in := createIntent(t, g, fulfill.CaptureManual)
	if !strings.HasPrefix(in.ID, "pi_sbx_") || !strings.HasPrefix(in.ClientSecret, in.ID+"_secret_") {
		t.Fatalf("intent = %+v", in)
	}
	if _, err := g.Confirm(t.Context(), in.ID, sandbox.ConfirmRequest{Outcome: "maybe"}); !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Fatalf("bad outcome: %v", err)
	}
	si, err := g.Confirm(t.Context(), in.ID, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded})
	if err != nil || si.Status != sandbox.StatusAuthorized {
		t.Fatalf("confirm manual = %+v, %v; want authorized", si, err)
	}
	if _, err := g.Confirm(t.Context(), in.ID, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded}); !fulfill.IsCode(err, fulfill.EConflict) {
		t.Fatalf("second confirm: %v, want conflict", err)
	}
	if _, err := g.Confirm(t.Context(), "pi_sbx_nope", sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded}); !fulfill.IsCode(err, fulfill.ENotFound) {
		t.Fatalf("unknown: %v, want not found", err)
	}
	inr := fulfill.Money{Amount: 349900, Currency: "INR"}
	if err := g.Capture(t.Context(), in.ID, fulfill.Money{Amount: 349901, Currency: "INR"}); !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Fatalf("over-capture: %v, want invalid", err)
	}
	if err := g.Capture(t.Context(), in.ID, inr); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Refund(t.Context(), in.ID, inr, "x"); err != nil {
		t.Fatal(err)
	}
	if si, _ := g.Intent(t.Context(), in.ID); si.Status != sandbox.StatusRefunded || si.Refunded != inr.Amount {
		t.Fatalf("after full refund: %+v", si)
	}
	if _, err := g.Refund(t.Context(), in.ID, inr, "again"); !fulfill.IsCode(err, fulfill.EConflict) {
		t.Fatalf("refund twice: %v, want conflict", err)
	}
}

func createIntent(t *testing.T, g *sandbox.Gateway, mode fulfill.CaptureMode) *fulfill.Intent {
	t.Helper()
	in, err := g.CreateIntent(t.Context(), fulfill.IntentRequest{
		OrderID: fulfill.NewID("ord", time.Now()), Amount: fulfill.Money{Amount: 349900, Currency: "INR"}, Capture: mode,
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// receiver is a webhook endpoint that records what it got and answers with
// the status its script gives for each request (200 when the script ends).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivered
	script []int
	seen   chan struct{}
}

type delivered struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, seen: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.got) < len(r.script) {
			status = r.script[len(r.got)]
		}
		r.got = append(r.got, delivered{req.Header.Clone(), body, status})
		r.mu.Unlock()
		w.WriteHeader(status)
		r.seen <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// wait waits for n requests and returns them.
func (r *receiver) wait(t *testing.T, n int) []delivered {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case <-r.seen:
		case <-deadline:
			t.Fatalf("waited 30s for %d deliveries; got %d", n, len(r.snapshot()))
		}
	}
	return r.snapshot()
}

func (r *receiver) snapshot() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

// opener opens a fresh store of one engine; with a registry its queue
// works jobs (and is stopped at cleanup).
type opener func(t *testing.T, reg *queue.Registry) fulfill.Store

// eachEngine runs fn as a subtest on SQLite and, when pgURLEnv is set, on
// PostgreSQL (each test its own schema).
func eachEngine(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, openStore)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if os.Getenv(pgURLEnv) == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal(pgURLEnv + " must be set on CI to run the PostgreSQL tests")
			}
			t.Skip("set " + pgURLEnv + " to run the PostgreSQL tests")
		}
		fn(t, openPostgres)
	})
}

// pgURLEnv names the PostgreSQL test database.
const pgURLEnv = "FULFILL_TEST_POSTGRES_URL"

// openPostgres opens a store in a fresh schema, dropped at cleanup.
func openPostgres(t *testing.T, reg *queue.Registry) fulfill.Store {
	t.Helper()
	url := os.Getenv(pgURLEnv)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fulfill_sbx_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	qc := queue.Config{Registry: reg, Logger: quiet(), PollInterval: 50 * time.Millisecond, RetryBase: 100 * time.Millisecond}
	st, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 8, Queue: qc, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// working returns a gateway on SQLite whose store works sandbox jobs,
// delivering to rcv.
func working(t *testing.T, rcv *receiver, cfg sandbox.Config) (*sandbox.Gateway, fulfill.Store) {
	t.Helper()
	return workingOn(t, openStore, rcv, cfg)
}

// workingOn returns a gateway on a store of open whose queue works the
// sandbox's jobs, delivering to rcv; with AutoConfirmAfter set, its
// RunAutoConfirm runs until cleanup.
func workingOn(t *testing.T, open opener, rcv *receiver, cfg sandbox.Config) (*sandbox.Gateway, fulfill.Store) {
	t.Helper()
	var g *sandbox.Gateway
	reg := queue.NewRegistry()
	queue.Handle(reg, func(ctx2 context.Context, a sandbox.DeliverArgs) error { return g.Deliver(ctx2, a) })
	queue.Handle(reg, func(ctx2 context.Context, a sandbox.DeliverBatchArgs) error { return g.DeliverBatch(ctx2, a) })
	queue.Handle(reg, func(ctx2 context.Context, a sandbox.AutoConfirmArgs) error { return g.AutoConfirm(ctx2, a) })
	st := open(t, reg)
	cfg.WebhookURL = rcv.URL + "/webhooks/sandbox"
	g = newGateway(t, st, cfg)
	if err := st.Jobs().Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Jobs().Stop(ctx)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.RunAutoConfirm(ctx, slog.New(slog.NewTextHandler(t.Output(), nil)))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return g, st
}

// verified checks a delivery's signature with stripe-go's verifier and
// returns the event.
func verified(t *testing.T, d delivered) stripego.Event {
	t.Helper()
	ev, err := webhook.ConstructEvent(d.body, d.header.Get("Stripe-Signature"), secret)
	if err != nil {
		t.Fatalf("stripe-go does not verify the delivery: %v\n%s", err, d.body)
	}
	return ev
}

func TestDeliverySignedOverHTTP(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	g, _ := working(t, rcv, sandbox.Config{})
	in := createIntent(t, g, fulfill.CaptureAutomatic)
	if _, err := g.Confirm(t.Context(), in.ID, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded}); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 1)
	ev := verified(t, got[0])
	if ev.Type != sandbox.TypeSucceeded {
		t.Fatalf("type = %s", ev.Type)
	}
	pe, err := g.ParseWebhook(t.Context(), got[0].header, got[0].body)
	if err != nil || pe.IntentID != in.ID || pe.Type != fulfill.PaymentSucceeded || pe.Amount.Amount != 349900 || pe.OrderID == "" {
		t.Fatalf("parsed = %+v, %v", pe, err)
	}
}

func TestDeliveryRetriesOn500(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusBadGateway)
	g, _ := working(t, rcv, sandbox.Config{})
	in := createIntent(t, g, fulfill.CaptureAutomatic)
	if _, err := g.Confirm(t.Context(), in.ID, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeDeclined}); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 3)
	if got[2].status != http.StatusOK {
		t.Fatalf("statuses %d %d %d", got[0].status, got[1].status, got[2].status)
	}
	first, last := verified(t, got[0]), verified(t, got[2])
	if first.ID != last.ID || last.Type != sandbox.TypePaymentFailed {
		t.Fatalf("retry sent %s/%s after %s", last.ID, last.Type, first.ID)
	}
}

func TestDeliveryFailFirstAndDead(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	g, st := working(t, rcv, sandbox.Config{DeliveryAttempts: 2})
	in := createIntent(t, g, fulfill.CaptureAutomatic)
	// Two attempts, both failing on purpose: nothing is sent, the job dies.
	if _, err := g.Confirm(t.Context(), in.ID, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded, FailFirst: 2}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs, _, err := st.Jobs().List(t.Context(), fulfill.JobFilter{State: fulfill.JobDead, Kind: "sandbox_deliver"})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 1 {
			if jobs[0].Attempt != 2 || len(jobs[0].Errors) != 2 {
				t.Fatalf("dead job = %+v", jobs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery job did not die within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(rcv.snapshot()); n != 0 {
		t.Fatalf("fail_first sent %d requests, want none", n)
	}
}

func TestDeliveryDuplicateAndOutOfOrder(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	g, _ := working(t, rcv, sandbox.Config{})
	in := createIntent(t, g, fulfill.CaptureAutomatic)
	req := sandbox.ConfirmRequest{Outcome: sandbox.OutcomeSucceeded, Duplicate: true, OutOfOrder: true}
	if _, err := g.Confirm(t.Context(), in.ID, req); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 3)
	var success []stripego.Event
	var stale stripego.Event
	staleAt := -1
	for i, d := range got {
		ev := verified(t, d)
		if ev.Type == sandbox.TypePaymentFailed {
			stale, staleAt = ev, i
			continue
		}
		success = append(success, ev)
	}
	if len(success) != 2 || success[0].ID != success[1].ID {
		t.Fatalf("want the success event twice with one id, got %+v", success)
	}
	if staleAt == 0 || stale.Created >= success[0].Created {
		t.Fatalf("the stale failure came at %d with created %d (success %d): want it after a success, older", staleAt, stale.Created, success[0].Created)
	}
}

func TestSignMatchesStripe(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_790_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	if got := sandbox.Sign(secret, at, body); got != sp.Header {
		t.Fatalf("Sign = %q, stripe-go = %q", got, sp.Header)
	}
}

func FuzzParseWebhook(f *testing.F) {
	st := openStoreF(f)
	g, err := sandbox.New(sandbox.Config{WebhookSecret: secret, WebhookURL: "http://127.0.0.1:1/w"}, st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"id":"evt_1","object":"event","created":1,"type":"payment_intent.succeeded","data":{"object":{"amount":-1}}}`))
	f.Add([]byte(`{"id":"evt_1","object":"event","created":1,"type":"charge.refunded","data":{"object":[]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set(sandbox.SignatureHeader, sandbox.Sign(secret, time.Now(), body))
		pe, err := g.ParseWebhook(t.Context(), h, body)
		if err != nil && !fulfill.IsCode(err, fulfill.EInvalid) {
			t.Fatalf("signed body refused with %v, want invalid", err)
		}
		if err == nil && pe.EventID == "" {
			t.Fatal("an event without an id was accepted")
		}
	})
}

func openStoreF(f *testing.F) fulfill.Store {
	st, err := sqlite.Open(f.Context(), sqlite.Config{Path: filepath.Join(f.TempDir(), "f.db"), Logger: quiet()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	return st
}

// TestCreateIntentConcurrent: concurrent checkouts share commits, and
// every one of them gets its own stored intent.
func TestCreateIntentConcurrent(t *testing.T) {
	t.Parallel()
	st := openStore(t, nil)
	g := newGateway(t, st, sandbox.Config{})
	const n = 100
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			in, err := g.CreateIntent(t.Context(), fulfill.IntentRequest{
				OrderID: fulfill.NewID("ord", time.Now()), Amount: fulfill.Money{Amount: 100, Currency: "INR"},
			})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- in.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("intent id %s given twice", id)
		}
		seen[id] = true
		if si, err := g.Intent(t.Context(), id); err != nil || si.Status != sandbox.StatusRequiresPayment {
			t.Fatalf("intent %s: %+v, %v", id, si, err)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d intents, want %d", len(seen), n)
	}
}
