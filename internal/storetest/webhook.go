package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// webhookTests check the webhook inbox. Beyond the doc comments, the suite
// expects InsertWebhookEvent to fill an empty ID (a new whk_ id), an empty
// Status (received) and a zero ReceivedAt (now).
var webhookTests = map[string]func(*testing.T, Harness){
	"InsertGetDuplicate":   testWebhookInsertGet,
	"Defaults":             testWebhookDefaults,
	"ConcurrentDuplicates": testWebhookConcurrent,
	"ListAndMark":          testWebhookListMark,
	"ReceivedInOrder":      testWebhookReceivedOrder,
}

func newEvent(id, eventID string, occurred time.Time) *fulfill.WebhookEvent {
	return &fulfill.WebhookEvent{
		ID: id, Provider: "sandbox", EventID: eventID, Type: fulfill.PaymentSucceeded,
		RawType: "payment_intent.succeeded", OrderID: "ord_1", IntentID: "pi_1", Amount: inr(309800),
		OccurredAt: occurred, Payload: []byte(`{"id":"` + eventID + `"}`), Status: fulfill.WebhookReceived,
		ReceivedAt: ts.Add(time.Second),
	}
}

func insertEvent(t testing.TB, s fulfill.Store, e *fulfill.WebhookEvent) bool {
	t.Helper()
	var ok bool
	update(t, s, func(tx fulfill.Tx) (err error) {
		ok, err = tx.InsertWebhookEvent(t.Context(), e)
		return err
	})
	return ok
}

func getEvent(t testing.TB, s fulfill.Store, id string) *fulfill.WebhookEvent {
	t.Helper()
	var e *fulfill.WebhookEvent
	view(t, s, func(tx fulfill.Tx) (err error) {
		e, err = tx.GetWebhookEvent(t.Context(), id)
		return err
	})
	return e
}

func sameEvent(t testing.TB, got, want *fulfill.WebhookEvent) {
	t.Helper()
	g, w := *got, *want
	if !g.OccurredAt.Equal(w.OccurredAt) || !g.ReceivedAt.Equal(w.ReceivedAt) ||
		(g.ProcessedAt == nil) != (w.ProcessedAt == nil) ||
		(g.ProcessedAt != nil && !g.ProcessedAt.Equal(*w.ProcessedAt)) || !bytes.Equal(g.Payload, w.Payload) {
		t.Fatalf("event = %+v, want %+v", g, w)
	}
	g.OccurredAt, g.ReceivedAt, g.ProcessedAt, g.Payload = w.OccurredAt, w.ReceivedAt, w.ProcessedAt, w.Payload
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("event = %+v, want %+v", g, w)
	}
}

func testWebhookInsertGet(t *testing.T, h Harness) {
	s := open(t, h)
	e := newEvent("whk_1", "evt_1", ts)
	if !insertEvent(t, s, e) {
		t.Fatal("first insert reported a duplicate")
	}
	sameEvent(t, getEvent(t, s, "whk_1"), e)
	again := newEvent("whk_2", "evt_1", ts.Add(time.Minute))
	again.Type = fulfill.PaymentFailed
	if insertEvent(t, s, again) {
		t.Fatal("a redelivered event was inserted")
	}
	if again.ID != "whk_1" || again.Status != fulfill.WebhookReceived {
		t.Fatalf("duplicate insert left id %q status %q; want the stored whk_1, received", again.ID, again.Status)
	}
	sameEvent(t, getEvent(t, s, "whk_1"), e) // unchanged
	other := newEvent("whk_3", "evt_1", ts)
	other.Provider = "stripe"
	if !insertEvent(t, s, other) {
		t.Fatal("the same event id at another provider was refused")
	}
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.GetWebhookEvent(t.Context(), "whk_2")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
}

func testWebhookDefaults(t *testing.T, h Harness) {
	s := open(t, h)
	e := newEvent("", "evt_1", ts)
	e.Status, e.ReceivedAt = "", time.Time{}
	before := time.Now().Add(-time.Minute)
	if !insertEvent(t, s, e) {
		t.Fatal("not inserted")
	}
	if !strings.HasPrefix(e.ID, "whk_") || e.Status != fulfill.WebhookReceived || e.ReceivedAt.Before(before) {
		t.Fatalf("defaults not filled: id %q, status %q, received %v", e.ID, e.Status, e.ReceivedAt)
	}
	got := getEvent(t, s, e.ID)
	if got.Status != fulfill.WebhookReceived || got.Attempts != 0 || got.ProcessedAt != nil {
		t.Fatalf("stored event = %+v", got)
	}
}

// testWebhookConcurrent: 50 concurrent deliveries of one event; exactly
// one is stored.
func testWebhookConcurrent(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 50
	var inserted atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := newEvent(fmt.Sprintf("whk_%03d", i), "evt_hot", ts)
			err := s.Update(t.Context(), func(tx fulfill.Tx) error {
				ok, err := tx.InsertWebhookEvent(t.Context(), e)
				if ok {
					inserted.Add(1)
				}
				return err
			})
			if err != nil {
				t.Errorf("insert: %v", err)
			}
		})
	}
	wg.Wait()
	if got := inserted.Load(); got != 1 {
		t.Fatalf("%d deliveries inserted, want exactly 1", got)
	}
	var all []fulfill.WebhookEvent
	view(t, s, func(tx fulfill.Tx) (err error) {
		all, err = tx.ListWebhookEvents(t.Context(), fulfill.WebhookFilter{})
		return err
	})
	if len(all) != 1 {
		t.Fatalf("%d events stored, want 1", len(all))
	}
}

func eventIDs(es []fulfill.WebhookEvent) []string {
	ids := make([]string, len(es))
	for i := range es {
		ids[i] = es[i].ID
	}
	return ids
}

func listEvents(t testing.TB, s fulfill.Store, f fulfill.WebhookFilter) []string {
	t.Helper()
	var es []fulfill.WebhookEvent
	view(t, s, func(tx fulfill.Tx) (err error) {
		es, err = tx.ListWebhookEvents(t.Context(), f)
		return err
	})
	return eventIDs(es)
}

func mark(t testing.TB, s fulfill.Store, id string, st fulfill.WebhookStatus, msg string, at time.Time) error {
	t.Helper()
	return s.Update(t.Context(), func(tx fulfill.Tx) error {
		return tx.MarkWebhookEvent(t.Context(), id, st, msg, at)
	})
}

func testWebhookListMark(t *testing.T, h Harness) {
	s := open(t, h)
	for i := 1; i <= 5; i++ {
		e := newEvent(fmt.Sprintf("whk_%d", i), fmt.Sprintf("evt_%d", i), ts)
		if i == 5 {
			e.Provider = "stripe"
		}
		insertEvent(t, s, e)
	}
	at := ts.Add(time.Minute)
	if err := mark(t, s, "whk_2", fulfill.WebhookFailed, "order locked", at); err != nil {
		t.Fatal(err)
	}
	if err := mark(t, s, "whk_2", fulfill.WebhookProcessed, "", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := mark(t, s, "whk_3", fulfill.WebhookIgnored, "unknown order", at); err != nil {
		t.Fatal(err)
	}
	got := getEvent(t, s, "whk_2")
	if got.Status != fulfill.WebhookProcessed || got.Error != "" || got.Attempts != 2 ||
		got.ProcessedAt == nil || !got.ProcessedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("marked event = %+v", got)
	}
	if got := getEvent(t, s, "whk_3"); got.Status != fulfill.WebhookIgnored || got.Error != "unknown order" || got.Attempts != 1 {
		t.Fatalf("ignored event = %+v", got)
	}
	wantCode(t, mark(t, s, "whk_missing", fulfill.WebhookProcessed, "", at), fulfill.ENotFound)

	for _, c := range []struct {
		f    fulfill.WebhookFilter
		want []string
	}{
		{fulfill.WebhookFilter{}, []string{"whk_5", "whk_4", "whk_3", "whk_2", "whk_1"}},
		{fulfill.WebhookFilter{Status: fulfill.WebhookReceived}, []string{"whk_5", "whk_4", "whk_1"}},
		{fulfill.WebhookFilter{Status: fulfill.WebhookReceived, Provider: "sandbox"}, []string{"whk_4", "whk_1"}},
		{fulfill.WebhookFilter{Provider: "stripe"}, []string{"whk_5"}},
		{fulfill.WebhookFilter{Page: fulfill.Page{Limit: 2}}, []string{"whk_5", "whk_4"}},
		{fulfill.WebhookFilter{Page: fulfill.Page{After: "whk_4", Limit: 2}}, []string{"whk_3", "whk_2"}},
		{fulfill.WebhookFilter{Status: fulfill.WebhookFailed}, []string{}},
	} {
		if got := listEvents(t, s, c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("list %+v = %v, want %v", c.f, got, c.want)
		}
	}
}

// testWebhookReceivedOrder gives ids that sort against arrival, so that
// only occurrence time, then arrival, explains the claim order.
func testWebhookReceivedOrder(t *testing.T, h Harness) {
	s := open(t, h)
	events := []*fulfill.WebhookEvent{
		newEvent("whk_z", "evt_1", ts.Add(2*time.Second)),
		newEvent("whk_y", "evt_2", ts.Add(1*time.Second)),
		newEvent("whk_a", "evt_3", ts.Add(2*time.Second)), // ties with whk_z, arrived later
		newEvent("whk_b", "evt_4", ts),                    // processed below
		newEvent("whk_c", "evt_5", ts.Add(3*time.Second)),
	}
	for _, e := range events {
		insertEvent(t, s, e)
	}
	if err := mark(t, s, "whk_b", fulfill.WebhookProcessed, "", ts.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var all, two []fulfill.WebhookEvent
	update(t, s, func(tx fulfill.Tx) (err error) {
		if all, err = tx.ReceivedWebhookEvents(t.Context(), 10); err != nil {
			return err
		}
		two, err = tx.ReceivedWebhookEvents(t.Context(), 2)
		return err
	})
	if ids := eventIDs(all); !reflect.DeepEqual(ids, []string{"whk_y", "whk_z", "whk_a", "whk_c"}) {
		t.Fatalf("received = %v, want [whk_y whk_z whk_a whk_c]", ids)
	}
	sameEvent(t, &all[0], events[1])
	if ids := eventIDs(two); !reflect.DeepEqual(ids, []string{"whk_y", "whk_z"}) {
		t.Fatalf("received limit 2 = %v, want [whk_y whk_z]", ids)
	}
}
