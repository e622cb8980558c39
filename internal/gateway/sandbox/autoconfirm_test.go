package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/sandbox"
)

// shiftClock is the system clock moved forward by a settable offset, so
// that a test makes intents due at once, all together.
type shiftClock struct{ offset atomic.Int64 }

func (c *shiftClock) Now() time.Time { return time.Now().UTC().Add(time.Duration(c.offset.Load())) }

func (c *shiftClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// jobsOf returns every job of kind, in any state.
func jobsOf(t *testing.T, st fulfill.Store, kind string) []fulfill.Job {
	t.Helper()
	jobs, _, err := st.Jobs().List(t.Context(), fulfill.JobFilter{Kind: kind, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// batchedIntents returns the intent of every delivery the batch jobs
// carry.
func batchedIntents(t *testing.T, g *sandbox.Gateway, st fulfill.Store) []string {
	t.Helper()
	var ids []string
	for _, j := range jobsOf(t, st, "sandbox_deliver_batch") {
		var args sandbox.DeliverBatchArgs
		if err := json.Unmarshal(j.Args, &args); err != nil {
			t.Fatal(err)
		}
		for _, d := range args.Deliveries {
			ids = append(ids, parsed(t, g, d.Event).IntentID)
		}
	}
	return ids
}

// parsed signs and parses an event as the sandbox delivered it.
func parsed(t *testing.T, g *sandbox.Gateway, body []byte) *fulfill.PaymentEvent {
	t.Helper()
	h := http.Header{}
	h.Set(sandbox.SignatureHeader, sandbox.Sign(secret, time.Now(), body))
	pe, err := g.ParseWebhook(t.Context(), h, body)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return pe
}

// TestAutoConfirm: an intent confirms itself after the delay (authorized
// under manual capture), swept into a batch job; no per-intent job.
func TestAutoConfirm(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		rcv := newReceiver(t)
		g, st := workingOn(t, open, rcv, sandbox.Config{AutoConfirmAfter: time.Millisecond})
		in := createIntent(t, g, fulfill.CaptureManual)
		ev := verified(t, rcv.wait(t, 1)[0])
		if ev.Type != sandbox.TypeAmountCapturable {
			t.Fatalf("type = %s, want the manual authorization", ev.Type)
		}
		si, err := g.Intent(t.Context(), in.ID)
		if err != nil || si.Status != sandbox.StatusAuthorized {
			t.Fatalf("intent = %+v, %v", si, err)
		}
		if si.AutoConfirmAt == nil || !si.AutoConfirmAt.Equal(si.CreatedAt.Add(time.Millisecond)) {
			t.Fatalf("auto_confirm_at = %v, want created_at %v + 1ms", si.AutoConfirmAt, si.CreatedAt)
		}
		if n := len(jobsOf(t, st, "sandbox_auto_confirm")); n != 0 {
			t.Fatalf("%d sandbox_auto_confirm jobs, want none", n)
		}
		if got := batchedIntents(t, g, st); len(got) != 1 || got[0] != in.ID {
			t.Fatalf("batch jobs carry %v, want %s", got, in.ID)
		}
	})
}

// TestAutoConfirmManyBatched: 300 intents due at once are confirmed in two
// sweep transactions (256 + 44), two batch jobs, and each is delivered
// exactly once.
func TestAutoConfirmManyBatched(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		const n = 300
		rcv := newReceiver(t)
		clock := &shiftClock{}
		g, st := workingOn(t, open, rcv, sandbox.Config{AutoConfirmAfter: time.Minute, Clock: clock})
		want := map[string]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				in := createIntent(t, g, fulfill.CaptureAutomatic)
				mu.Lock()
				want[in.ID] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if got := len(rcv.snapshot()); got != 0 {
			t.Fatalf("%d deliveries before any intent was due", got)
		}
		clock.advance(time.Minute + time.Second)
		got := rcv.wait(t, n)
		seenIntent, seenEvent := map[string]bool{}, map[string]bool{}
		for _, d := range got {
			pe := parsed(t, g, d.body)
			if pe.Type != fulfill.PaymentSucceeded || !want[pe.IntentID] || seenIntent[pe.IntentID] || seenEvent[pe.EventID] {
				t.Fatalf("delivery %+v: unknown or repeated (intent seen %v, event seen %v)", pe, seenIntent[pe.IntentID], seenEvent[pe.EventID])
			}
			seenIntent[pe.IntentID], seenEvent[pe.EventID] = true, true
		}
		time.Sleep(300 * time.Millisecond) // a repeat would show up by now
		if extra := len(rcv.snapshot()) - n; extra != 0 {
			t.Fatalf("%d deliveries more than the %d intents", extra, n)
		}
		if jobs := jobsOf(t, st, "sandbox_deliver_batch"); len(jobs) != 2 {
			t.Fatalf("%d batch jobs, want 2 (256 + 44)", len(jobs))
		}
		if jobs := jobsOf(t, st, "sandbox_deliver"); len(jobs) != 0 {
			t.Fatalf("%d single delivery jobs, want none", len(jobs))
		}
		for id := range want {
			if si, err := g.Intent(t.Context(), id); err != nil || si.Status != sandbox.StatusSucceeded {
				t.Fatalf("intent %s: %+v, %v", id, si, err)
			}
		}
	})
}

// TestAutoConfirmBatchRetry: a delivery of a batch that the receiver
// refuses goes on as its own sandbox_deliver job and arrives later; the
// others of the batch are not sent again.
func TestAutoConfirmBatchRetry(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		rcv := newReceiver(t, http.StatusInternalServerError)
		clock := &shiftClock{}
		g, st := workingOn(t, open, rcv, sandbox.Config{AutoConfirmAfter: time.Minute, Clock: clock})
		a, b := createIntent(t, g, fulfill.CaptureAutomatic), createIntent(t, g, fulfill.CaptureAutomatic)
		clock.advance(time.Minute + time.Second)
		got := rcv.wait(t, 3)
		failed := parsed(t, g, got[0].body)
		if got[0].status != http.StatusInternalServerError || got[1].status != http.StatusOK || got[2].status != http.StatusOK {
			t.Fatalf("statuses %d %d %d", got[0].status, got[1].status, got[2].status)
		}
		if again := parsed(t, g, got[2].body); again.EventID != failed.EventID {
			t.Fatalf("third delivery is %s, want the refused %s again", again.EventID, failed.EventID)
		}
		if other := parsed(t, g, got[1].body); other.IntentID == failed.IntentID ||
			(other.IntentID != a.ID && other.IntentID != b.ID) {
			t.Fatalf("second delivery is of %s, want the other intent than %s", other.IntentID, failed.IntentID)
		}
		time.Sleep(300 * time.Millisecond)
		if n := len(rcv.snapshot()); n != 3 {
			t.Fatalf("%d deliveries, want 3", n)
		}
		jobs := jobsOf(t, st, "sandbox_deliver")
		if len(jobs) != 1 || jobs[0].MaxAttempts != sandbox.DefaultDeliveryAttempts-1 {
			t.Fatalf("single delivery jobs = %+v, want one with %d attempts", jobs, sandbox.DefaultDeliveryAttempts-1)
		}
		if n := len(jobsOf(t, st, "sandbox_deliver_batch")); n != 1 {
			t.Fatalf("%d batch jobs, want 1", n)
		}
	})
}

// TestAutoConfirmSkipsConfirmed: an intent confirmed by hand before it was
// due is not confirmed again: one delivery, its own.
func TestAutoConfirmSkipsConfirmed(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, open opener) {
		rcv := newReceiver(t)
		clock := &shiftClock{}
		g, st := workingOn(t, open, rcv, sandbox.Config{AutoConfirmAfter: time.Minute, Clock: clock})
		manual := createIntent(t, g, fulfill.CaptureAutomatic)
		witness := createIntent(t, g, fulfill.CaptureAutomatic)
		if _, err := g.Confirm(t.Context(), manual.ID, sandbox.ConfirmRequest{Outcome: sandbox.OutcomeDeclined}); err != nil {
			t.Fatal(err)
		}
		if pe := parsed(t, g, rcv.wait(t, 1)[0].body); pe.IntentID != manual.ID || pe.Type != fulfill.PaymentFailed {
			t.Fatalf("manual confirmation delivered %+v", pe)
		}
		// Both are due now; the witness, created later, is swept no
		// earlier than the manual one would be.
		clock.advance(time.Minute + time.Second)
		if pe := parsed(t, g, rcv.wait(t, 1)[1].body); pe.IntentID != witness.ID || pe.Type != fulfill.PaymentSucceeded {
			t.Fatalf("auto-confirmation delivered %+v, want the witness's success", pe)
		}
		if got := batchedIntents(t, g, st); len(got) != 1 || got[0] != witness.ID {
			t.Fatalf("batch jobs carry %v, want only the witness %s", got, witness.ID)
		}
		if si, err := g.Intent(t.Context(), manual.ID); err != nil || si.Status != sandbox.StatusFailed {
			t.Fatalf("manually declined intent = %+v, %v", si, err)
		}
		time.Sleep(300 * time.Millisecond)
		if n := len(rcv.snapshot()); n != 2 {
			t.Fatalf("%d deliveries, want 2", n)
		}
	})
}

// TestAutoConfirmLegacyJob: a sandbox_auto_confirm job queued by an older
// version still confirms its intent.
func TestAutoConfirmLegacyJob(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	g, st := working(t, rcv, sandbox.Config{})
	in := createIntent(t, g, fulfill.CaptureAutomatic)
	err := st.Update(t.Context(), func(tx fulfill.Tx) error {
		return tx.Enqueue(t.Context(), sandbox.AutoConfirmArgs{IntentID: in.ID}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev := verified(t, rcv.wait(t, 1)[0]); ev.Type != sandbox.TypeSucceeded {
		t.Fatalf("type = %s", ev.Type)
	}
}

// TestRunAutoConfirmStops: RunAutoConfirm returns when its context ends,
// and at once when auto-confirmation is off.
func TestRunAutoConfirmStops(t *testing.T) {
	t.Parallel()
	st := openStore(t, nil)
	off := newGateway(t, st, sandbox.Config{})
	off.RunAutoConfirm(context.Background(), quiet()) // returns: nothing to do
	on := newGateway(t, st, sandbox.Config{AutoConfirmAfter: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		on.RunAutoConfirm(ctx, quiet())
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunAutoConfirm did not return after its context ended")
	}
}
