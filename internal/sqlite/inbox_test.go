package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

func inboxEvent(eventID string, at time.Time) *fulfill.WebhookEvent {
	return &fulfill.WebhookEvent{Provider: "sandbox", EventID: eventID, Type: fulfill.PaymentSucceeded,
		RawType: "payment_intent.succeeded", OrderID: "ord_x", IntentID: "pi_x",
		Amount: fulfill.Money{Amount: 500, Currency: "INR"}, OccurredAt: at, Payload: []byte(`{"id":"` + eventID + `"}`)}
}

// TestWebhookInbox: events stored in the inbox file are deduplicated
// there, show as received before the payment stage copies them, are copied
// into webhook_events exactly once by ReceivedWebhookEvents (not by a
// transaction that rolls back), and a reopened store reports a backlog
// until they are copied.
func TestWebhookInbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := harness{}.NewDB(t)
	s := harness{}.Open(t, path, queue.Config{}).(*sqlite.Store)
	if _, err := os.Stat(sqlite.InboxPath(path)); err != nil {
		t.Fatalf("inbox file: %v", err)
	}
	if got := sqlite.InboxPath("/d/fulfill.db"); got != "/d/fulfill-inbox.db" {
		t.Errorf("InboxPath = %s", got)
	}
	if got := sqlite.InboxPath("/d/data"); got != "/d/data-inbox" {
		t.Errorf("InboxPath = %s", got)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

	if backlog, err := s.WebhookBacklog(ctx); err != nil || backlog {
		t.Fatalf("empty inbox: backlog %v, %v", backlog, err)
	}
	first := []*fulfill.WebhookEvent{inboxEvent("evt_2", at.Add(time.Second)), inboxEvent("evt_1", at), inboxEvent("evt_2", at)}
	// Ids in arrival order (generated ones made in the same millisecond
	// need not sort so), to check the list's newest-first order.
	first[0].ID, first[1].ID = "whk_0001", "whk_0002"
	ins, err := s.StoreWebhookEvents(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if !ins[0] || !ins[1] || ins[2] || first[2].ID != "whk_0001" {
		t.Fatalf("inserted %v, ids %s %s %s: want the third a duplicate of the first", ins, first[0].ID, first[1].ID, first[2].ID)
	}
	again := []*fulfill.WebhookEvent{inboxEvent("evt_1", at)}
	if ins, err := s.StoreWebhookEvents(ctx, again); err != nil || ins[0] || again[0].ID != first[1].ID {
		t.Fatalf("redelivery: inserted %v, id %s, %v", ins, again[0].ID, err)
	}
	if backlog, err := s.WebhookBacklog(ctx); err != nil || !backlog {
		t.Fatalf("backlog %v, %v; want true", backlog, err)
	}

	// Not copied yet: visible, as received.
	err = s.View(ctx, func(tx fulfill.Tx) error {
		all, err := tx.ListWebhookEvents(ctx, fulfill.WebhookFilter{})
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].ID != first[1].ID || all[1].ID != first[0].ID || all[0].Status != fulfill.WebhookReceived {
			t.Errorf("list before the copy: %+v", all)
		}
		if processed, err := tx.ListWebhookEvents(ctx, fulfill.WebhookFilter{Status: fulfill.WebhookProcessed}); err != nil || len(processed) != 0 {
			t.Errorf("processed before the copy: %+v, %v", processed, err)
		}
		e, err := tx.GetWebhookEvent(ctx, first[0].ID)
		if err != nil || e.EventID != "evt_2" || string(e.Payload) != `{"id":"evt_2"}` || !e.OccurredAt.Equal(at.Add(time.Second)) {
			t.Errorf("get before the copy: %+v, %v", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A transaction that copies and then rolls back copies nothing.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx fulfill.Tx) error {
		if evs, err := tx.ReceivedWebhookEvents(ctx, 10); err != nil || len(evs) != 2 {
			t.Errorf("received in the rolled-back transaction: %d, %v", len(evs), err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}

	// Reopen: the backlog survives, then one copy takes each event once,
	// in order of occurrence.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = harness{}.Open(t, path, queue.Config{}).(*sqlite.Store)
	if backlog, err := s.WebhookBacklog(ctx); err != nil || !backlog {
		t.Fatalf("backlog after reopen %v, %v; want true", backlog, err)
	}
	var ids []string
	err = s.Update(ctx, func(tx fulfill.Tx) error {
		evs, err := tx.ReceivedWebhookEvents(ctx, 10)
		for _, e := range evs {
			ids = append(ids, e.EventID)
		}
		if err != nil {
			return err
		}
		return tx.MarkWebhookEvents(ctx, []string{evs[0].ID, evs[1].ID}, fulfill.WebhookProcessed, at)
	})
	if err != nil || len(ids) != 2 || ids[0] != "evt_1" || ids[1] != "evt_2" {
		t.Fatalf("copied %v, %v; want evt_1 then evt_2", ids, err)
	}
	if backlog, err := s.WebhookBacklog(ctx); err != nil || backlog {
		t.Fatalf("backlog after the copy %v, %v", backlog, err)
	}
	err = s.Update(ctx, func(tx fulfill.Tx) error {
		if evs, err := tx.ReceivedWebhookEvents(ctx, 10); err != nil || len(evs) != 0 {
			t.Errorf("received after processing: %+v, %v", evs, err)
		}
		all, err := tx.ListWebhookEvents(ctx, fulfill.WebhookFilter{})
		if err != nil || len(all) != 2 || all[0].Status != fulfill.WebhookProcessed || all[1].Status != fulfill.WebhookProcessed {
			t.Errorf("list after the copy: %+v, %v", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWebhookInboxMarkBeforeCopy: an operator's replay (mark received) of
// an event still only in the inbox file copies it first.
func TestWebhookInboxMarkBeforeCopy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := harness{}.Open(t, harness{}.NewDB(t), queue.Config{}).(*sqlite.Store)
	evs := []*fulfill.WebhookEvent{inboxEvent("evt_1", time.Now())}
	if _, err := s.StoreWebhookEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx fulfill.Tx) error {
		if err := tx.MarkWebhookEvent(ctx, evs[0].ID, fulfill.WebhookFailed, "no such order", time.Now()); err != nil {
			return err
		}
		e, err := tx.GetWebhookEvent(ctx, evs[0].ID)
		if err == nil && (e.Status != fulfill.WebhookFailed || e.Attempts != 1 || e.Error != "no such order") {
			t.Errorf("marked: %+v", e)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx fulfill.Tx) error {
		return tx.MarkWebhookEvent(ctx, "whk_missing", fulfill.WebhookReceived, "", time.Now())
	})
	if !fulfill.IsCode(err, fulfill.ENotFound) {
		t.Fatalf("mark unknown = %v, want not found", err)
	}
}

// TestWebhookInboxConcurrentWithWriter: storing in the inbox does not wait
// for a transaction holding the main file's writer.
func TestWebhookInboxConcurrentWithWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := harness{}.Open(t, filepath.Join(t.TempDir(), "fulfill.db"), queue.Config{}).(*sqlite.Store)
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(fulfill.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.StoreWebhookEvents(sctx, []*fulfill.WebhookEvent{inboxEvent("evt_1", time.Now())})
	close(release)
	if err != nil {
		t.Fatalf("store while the writer is held: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWebhookInboxBehindCursor: with the inbox file lost (or restored from
// an older backup than the database), new events are numbered after the
// cursor and still reach webhook_events.
func TestWebhookInboxBehindCursor(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := harness{}.NewDB(t)
	s := harness{}.Open(t, path, queue.Config{}).(*sqlite.Store)
	for i := range 3 {
		if _, err := s.StoreWebhookEvents(ctx, []*fulfill.WebhookEvent{inboxEvent("evt_old_"+string(rune('a'+i)), time.Now())}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, func(tx fulfill.Tx) error {
		_, err := tx.ReceivedWebhookEvents(ctx, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(sqlite.InboxPath(path) + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s = harness{}.Open(t, path, queue.Config{}).(*sqlite.Store)
	if _, err := s.StoreWebhookEvents(ctx, []*fulfill.WebhookEvent{inboxEvent("evt_new", time.Now())}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.Update(ctx, func(tx fulfill.Tx) error {
		evs, err := tx.ReceivedWebhookEvents(ctx, 10)
		for _, e := range evs {
			got = append(got, e.EventID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3] != "evt_new" {
		t.Fatalf("received %v; want the three old events and evt_new", got)
	}
}
