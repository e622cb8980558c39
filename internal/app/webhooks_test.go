package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

// hookGateway is a hand-written gateway whose webhooks are the event id in
// the body; only ParseWebhook matters here.
type hookGateway struct {
	ParseWebhookFunc func(ctx context.Context, h http.Header, body []byte) (*fulfill.PaymentEvent, error)
}

func (hookGateway) Name() string { return "hook" }
func (hookGateway) CreateIntent(context.Context, fulfill.IntentRequest) (*fulfill.Intent, error) {
	return nil, errors.New("unused")
}
func (hookGateway) Capture(context.Context, string, fulfill.Money) error { return nil }
func (hookGateway) Void(context.Context, string) error                   { return nil }
func (hookGateway) Refund(context.Context, string, fulfill.Money, string) (string, error) {
	return "", nil
}
func (g hookGateway) ParseWebhook(ctx context.Context, h http.Header, body []byte) (*fulfill.PaymentEvent, error) {
	if g.ParseWebhookFunc != nil {
		return g.ParseWebhookFunc(ctx, h, body)
	}
	return &fulfill.PaymentEvent{Provider: "hook", EventID: string(body), Type: fulfill.PaymentSucceeded}, nil
}

// poisonStore fails, inside any transaction, the insert of one event id,
// as a database refusing one row would.
type poisonStore struct {
	fulfill.Store
	poison string
}

func (p poisonStore) Update(ctx context.Context, fn func(fulfill.Tx) error) error {
	return p.Store.Update(ctx, func(tx fulfill.Tx) error { return fn(poisonTx{Tx: tx, poison: p.poison}) })
}

type poisonTx struct {
	fulfill.Tx
	poison string
}

func (t poisonTx) InsertWebhookEvent(ctx context.Context, e *fulfill.WebhookEvent) (bool, error) {
	if e.EventID == t.poison {
		return false, errors.New("disk refuses this row")
	}
	return t.Tx.InsertWebhookEvent(ctx, e)
}

func hookApp(t *testing.T, wrap func(fulfill.Store) fulfill.Store) (*app.App, fulfill.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "f.db"), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var s fulfill.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	a := app.New(s, app.Options{Logger: quiet(), Gateways: map[string]fulfill.Gateway{"hook": hookGateway{}},
		WebhookBatchWait: 50 * time.Millisecond})
	t.Cleanup(func() { _ = a.Close() })
	return a, st
}

func TestInboxOneBadEventFailsAlone(t *testing.T) {
	t.Parallel()
	a, st := hookApp(t, func(s fulfill.Store) fulfill.Store { return poisonStore{Store: s, poison: "evt_poison"} })
	ids := []string{"evt_poison"}
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("evt_%d", i))
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { _, _, errs[i] = a.ReceiveWebhook(t.Context(), "hook", nil, []byte(id)) })
	}
	wg.Wait()
	if !fulfill.IsCode(errs[0], fulfill.EUnavailable) {
		t.Errorf("poisoned event: %v, want unavailable", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Errorf("event %d failed with the poisoned one: %v", i, err)
		}
	}
	var n int
	err := st.View(t.Context(), func(tx fulfill.Tx) error {
		evs, err := tx.ListWebhookEvents(t.Context(), fulfill.WebhookFilter{Page: fulfill.Page{Limit: 100}})
		n = len(evs)
		return err
	})
	if err != nil || n != 20 {
		t.Errorf("%d events stored (%v), want 20", n, err)
	}
}

func TestInboxCloseDrainsThenRefuses(t *testing.T) {
	t.Parallel()
	a, _ := hookApp(t, nil)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = a.ReceiveWebhook(t.Context(), "hook", nil, fmt.Appendf(nil, "evt_%d", i)) })
	}
	time.Sleep(10 * time.Millisecond) // let them join the batch that is waiting
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !fulfill.IsCode(err, fulfill.EUnavailable) {
			t.Errorf("event %d: %v", i, err)
		}
	}
	if _, _, err := a.ReceiveWebhook(t.Context(), "hook", nil, []byte("evt_late")); !fulfill.IsCode(err, fulfill.EUnavailable) {
		t.Errorf("after Close: %v, want unavailable", err)
	}
}

func TestReceiveWebhookErrors(t *testing.T) {
	t.Parallel()
	a, _ := hookApp(t, nil)
	if _, _, err := a.ReceiveWebhook(t.Context(), "nope", nil, nil); !fulfill.IsCode(err, fulfill.ENotFound) {
		t.Errorf("unknown provider: %v", err)
	}
	bad := app.New(nil, app.Options{Logger: quiet(), Gateways: map[string]fulfill.Gateway{"hook": hookGateway{
		ParseWebhookFunc: func(context.Context, http.Header, []byte) (*fulfill.PaymentEvent, error) {
			return nil, fulfill.Errorf(fulfill.EUnauthenticated, "hook webhook signature does not match")
		},
	}}})
	if _, _, err := bad.ReceiveWebhook(t.Context(), "hook", nil, nil); !fulfill.IsCode(err, app.EInvalidSignature) {
		t.Errorf("bad signature: %v", err)
	}
	if _, _, err := a.ReceiveWebhook(t.Context(), "hook", nil, nil); !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Errorf("no event id: %v", err)
	}
}

// TestInboxKicker: on SQLite the inbox is a file of its own and the
// process_payments job is queued after its commit. Events left there with
// no job (a crash between the two) get one when an App starts on the
// store; one waiting job is enough for later acknowledgements; a run
// applies them all. (The server's end-to-end tests cover an
// acknowledgement queueing the job.)
func TestInboxKicker(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	ctx := t.Context()
	wi, ok := st.(fulfill.WebhookInbox)
	if !ok {
		t.Fatal("the SQLite store has no inbox of its own")
	}
	now := time.Now().UTC()
	other := func(id string) *fulfill.WebhookEvent {
		return &fulfill.WebhookEvent{Provider: "test", EventID: id, Type: fulfill.PaymentEventOther, OccurredAt: now}
	}
	if _, err := wi.StoreWebhookEvents(ctx, []*fulfill.WebhookEvent{other("evt_left")}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, st, app.Options{})
	jobs := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			js, _, err := st.Jobs().List(ctx, fulfill.JobFilter{Kind: app.ProcessPaymentsArgs{}.Kind(), State: fulfill.JobAvailable})
			if err != nil {
				t.Fatal(err)
			}
			if len(js) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d process_payments jobs available, want %d", len(js), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	jobs(1)
	for _, id := range []string{"evt_a", "evt_b"} {
		body, _ := json.Marshal(fulfill.PaymentEvent{EventID: id, Type: fulfill.PaymentEventOther, OccurredAt: now})
		if _, _, err := f.a.ReceiveWebhook(ctx, "test", http.Header{"X-Test-Signature": {"ok"}}, body); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	jobs(1) // the waiting job will see them
	f.process(1)
	err := st.View(ctx, func(tx fulfill.Tx) error {
		left, err := tx.ListWebhookEvents(ctx, fulfill.WebhookFilter{Status: fulfill.WebhookReceived})
		if err == nil && len(left) != 0 {
			t.Errorf("still received after a run: %+v", left)
		}
		all, err2 := tx.ListWebhookEvents(ctx, fulfill.WebhookFilter{})
		if err2 == nil && len(all) != 3 {
			t.Errorf("events after a run: %+v", all)
		}
		return errors.Join(err, err2)
	})
	if err != nil {
		t.Fatal(err)
	}
	if backlog, err := wi.WebhookBacklog(ctx); err != nil || backlog {
		t.Fatalf("backlog after a run: %v, %v", backlog, err)
	}
}
