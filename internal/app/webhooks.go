package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// EInvalidSignature is a webhook whose signature is missing, wrong or too
// old: 400. Nothing of it is stored.
const EInvalidSignature fulfill.ErrorCode = "invalid_signature"

// maxWebhookField bounds the ids and type names taken from a gateway event.
const maxWebhookField = 255

// ReceiveWebhook verifies a gateway's webhook over the raw body, then
// stores the event in the inbox and queues its processing job in one
// transaction, shared with other webhooks arriving at the same moment
// (group commit); with a store whose inbox has its own writer
// (fulfill.WebhookInbox, SQLite) the job is queued right after that commit. It returns the stored event and whether it was a
// redelivery of one already stored (no second effect). ENotFound for an
// unknown provider; EInvalidSignature for a missing, bad or stale
// signature; EInvalid for a verified body that is not an event;
// EUnavailable when the inbox is closed or the commit failed.
func (a *App) ReceiveWebhook(ctx context.Context, provider string, header http.Header, body []byte) (*fulfill.WebhookEvent, bool, error) {
	gw, ok := a.opts.Gateways[provider]
	if !ok {
		return nil, false, fulfill.Errorf(fulfill.ENotFound, "no payment gateway %q is configured", provider)
	}
	pe, err := gw.ParseWebhook(ctx, header, body)
	if err != nil {
		return nil, false, webhookError(err)
	}
	ev, err := a.newWebhookEvent(provider, pe, body)
	if err != nil {
		return nil, false, err
	}
	res := a.startInbox().submit(ctx, ev)
	if res.err != nil {
		return nil, false, res.err
	}
	return res.ev, !res.inserted, nil
}

// webhookError turns a gateway's verification error into the API's: a
// signature problem becomes EInvalidSignature (400), keeping the gateway's
// safe message and its cause for the log.
func webhookError(err error) error {
	if fulfill.IsCode(err, fulfill.EUnauthenticated) {
		msg := "webhook signature is missing, wrong or outside the tolerance window"
		if fe := asError(err); fe != nil && fe.Message != "" {
			msg = fe.Message
		}
		return &fulfill.Error{Code: EInvalidSignature, Message: msg, Err: err}
	}
	if fulfill.IsCode(err, fulfill.EInvalid) {
		return err
	}
	return &fulfill.Error{Code: fulfill.EInvalid, Message: "webhook body is not an event this gateway sends", Err: err}
}

// asError returns the first *fulfill.Error in err's chain.
func asError(err error) *fulfill.Error {
	var fe *fulfill.Error
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// newWebhookEvent checks a parsed event before it joins a batch, so that
// one bad event can't fail the commit of the others.
func (a *App) newWebhookEvent(provider string, pe *fulfill.PaymentEvent, body []byte) (*fulfill.WebhookEvent, error) {
	if pe == nil || pe.EventID == "" {
		return nil, fulfill.Errorf(fulfill.EInvalid, "webhook event has no id")
	}
	for _, f := range []string{pe.EventID, pe.RawType, pe.OrderID, pe.IntentID, string(pe.Type)} {
		if len(f) > maxWebhookField {
			return nil, fulfill.Errorf(fulfill.EInvalid, "webhook event has a field longer than %d characters", maxWebhookField)
		}
	}
	if pe.Amount.Amount < 0 {
		return nil, fulfill.Errorf(fulfill.EInvalid, "webhook event has a negative amount")
	}
	now := a.clock.Now()
	typ := pe.Type
	if typ == "" {
		typ = fulfill.PaymentEventOther
	}
	occurred := pe.OccurredAt
	if occurred.IsZero() {
		occurred = now
	}
	return &fulfill.WebhookEvent{
		ID: fulfill.NewID("whk", now), Provider: provider, EventID: pe.EventID, Type: typ, RawType: pe.RawType,
		OrderID: pe.OrderID, IntentID: pe.IntentID, Amount: pe.Amount, OccurredAt: occurred.UTC(),
		Payload: append([]byte(nil), body...), Status: fulfill.WebhookReceived, ReceivedAt: now,
	}, nil
}

// startInbox starts the batcher on first use.
func (a *App) startInbox() *inbox {
	a.inboxOnce.Do(func() {
		a.inbox = newInbox(a)
		go a.inbox.run()
	})
	if a.inbox == nil { // Close ran before any webhook
		return closedInbox
	}
	return a.inbox
}

// closedInbox refuses every event.
var closedInbox = func() *inbox {
	b := &inbox{quit: make(chan struct{}), exited: make(chan struct{})}
	close(b.quit)
	close(b.exited)
	return b
}()

// inboxReq is one event waiting for its group commit.
type inboxReq struct {
	ev   *fulfill.WebhookEvent
	done chan inboxResult
}

// inboxResult answers one inboxReq.
type inboxResult struct {
	ev       *fulfill.WebhookEvent
	inserted bool
	err      error
}

// inbox is the group-commit batcher of the webhook inbox: one goroutine
// collects events for up to Options.WebhookBatchWait or
// Options.WebhookBatchMax events and stores them in one transaction with
// one process_payments job, then answers every waiter.
type inbox struct {
	a         *App
	in        chan *inboxReq
	quit      chan struct{}
	exited    chan struct{}
	closeOnce sync.Once
}

func newInbox(a *App) *inbox {
	return &inbox{a: a, in: make(chan *inboxReq, 4*a.opts.WebhookBatchMax),
		quit: make(chan struct{}), exited: make(chan struct{})}
}

// errInboxClosed answers events that arrive during shutdown; the gateway
// retries them.
var errInboxClosed = fulfill.Errorf(fulfill.EUnavailable, "the server is shutting down; retry the webhook")

// submit hands ev to the batcher and waits for its commit.
func (b *inbox) submit(ctx context.Context, ev *fulfill.WebhookEvent) inboxResult {
	req := &inboxReq{ev: ev, done: make(chan inboxResult, 1)}
	select {
	case <-b.quit:
		return inboxResult{err: errInboxClosed}
	default:
	}
	select {
	case b.in <- req:
	case <-b.quit:
		return inboxResult{err: errInboxClosed}
	case <-ctx.Done():
		return inboxResult{err: &fulfill.Error{Code: fulfill.EUnavailable, Message: "request cancelled", Err: ctx.Err()}}
	}
	select {
	case r := <-req.done:
		return r
	case <-ctx.Done():
		// The event may still commit; a redelivery is then a duplicate.
		return inboxResult{err: &fulfill.Error{Code: fulfill.EUnavailable, Message: "request cancelled", Err: ctx.Err()}}
	case <-b.exited:
		select {
		case r := <-req.done:
			return r
		default:
			return inboxResult{err: errInboxClosed}
		}
	}
}

// run is the batcher's loop.
func (b *inbox) run() {
	defer close(b.exited)
	for {
		var first *inboxReq
		select {
		case first = <-b.in:
		case <-b.quit:
			b.drain()
			return
		}
		b.commit(b.collect(first))
	}
}

// collect gathers a batch starting with first: every event already
// waiting, and, when Options.WebhookBatchWait is set, those arriving within
// it. Without a wait the batching is natural: events arriving during one
// commit form the next batch, so a lone event commits at once and a burst
// shares commits.
func (b *inbox) collect(first *inboxReq) []*inboxReq {
	batch := []*inboxReq{first}
	if b.a.opts.WebhookBatchWait <= 0 {
		for len(batch) < b.a.opts.WebhookBatchMax {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			default:
				return batch
			}
		}
		return batch
	}
	timer := time.NewTimer(b.a.opts.WebhookBatchWait)
	defer timer.Stop()
	for len(batch) < b.a.opts.WebhookBatchMax {
		select {
		case r := <-b.in:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		case <-b.quit:
			return batch
		}
	}
	return batch
}

// drain commits whatever is still queued at shutdown.
func (b *inbox) drain() {
	for {
		var batch []*inboxReq
	fill:
		for len(batch) < b.a.opts.WebhookBatchMax {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return
		}
		b.commit(batch)
	}
}

// commit stores a batch in one transaction. When it fails, each event is
// retried alone, so that one bad event fails only its own request.
func (b *inbox) commit(batch []*inboxReq) {
	// The batch outlives any one request; it runs on its own context.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := b.store(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			b.commit([]*inboxReq{r})
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			b.a.log.Error("webhook inbox commit", "provider", r.ev.Provider, "event_id", r.ev.EventID, "err", err)
			r.done <- inboxResult{err: &fulfill.Error{Code: fulfill.EUnavailable, Message: "the webhook could not be stored; retry it", Err: err}}
			continue
		}
		r.done <- results[i]
	}
}

// store inserts the batch's events and, when any is new, one
// process_payments job. A store with an inbox of its own
// (fulfill.WebhookInbox: SQLite) commits the events there, apart from the
// pipeline's writes, and the job is queued after the commit (kickPayments).
func (b *inbox) store(ctx context.Context, batch []*inboxReq) ([]inboxResult, error) {
	results := make([]inboxResult, len(batch))
	if wi, ok := b.a.store.(fulfill.WebhookInbox); ok {
		evs := make([]*fulfill.WebhookEvent, len(batch))
		for i, r := range batch {
			ev := *r.ev
			evs[i] = &ev
		}
		ins, err := wi.StoreWebhookEvents(ctx, evs)
		if err != nil {
			return nil, err
		}
		for i := range batch {
			results[i] = inboxResult{ev: evs[i], inserted: ins[i]}
		}
		if slices.Contains(ins, true) {
			b.a.kickPayments()
		}
		return results, nil
	}
	err := b.a.store.Update(ctx, func(tx fulfill.Tx) error {
		anyNew := false
		for i, r := range batch {
			ev := *r.ev
			ins, err := tx.InsertWebhookEvent(ctx, &ev)
			if err != nil {
				return err
			}
			results[i] = inboxResult{ev: &ev, inserted: ins}
			anyNew = anyNew || ins
		}
		if !anyNew {
			return nil
		}
		return tx.Enqueue(ctx, ProcessPaymentsArgs{}, processPaymentsOpts)
	})
	return results, err
}

// close stops the batcher after it has stored what was submitted.
func (b *inbox) close() {
	b.closeOnce.Do(func() { close(b.quit) })
	<-b.exited
}

// WebhookListParams selects one page of inbox events, newest first.
type WebhookListParams struct {
	Status   string
	Provider string
	Cursor   string
	Limit    int
}

// ListWebhookEvents returns one page of received webhook events with their
// processing state and the cursor of the next page. EInvalid.
func (a *App) ListWebhookEvents(ctx context.Context, lp WebhookListParams) ([]fulfill.WebhookEvent, string, error) {
	st := fulfill.WebhookStatus(lp.Status)
	if st != "" && !st.Valid() {
		return nil, "", fulfill.FieldErrorf(fulfill.EInvalid, "status", "status must be received, processed, ignored or failed")
	}
	if len(lp.Provider) > 64 {
		return nil, "", fulfill.FieldErrorf(fulfill.EInvalid, "provider", "provider is too long")
	}
	page, limit, err := ListParams{Cursor: lp.Cursor, Limit: lp.Limit}.storePage()
	if err != nil {
		return nil, "", err
	}
	var rows []fulfill.WebhookEvent
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.ListWebhookEvents(ctx, fulfill.WebhookFilter{Status: st, Provider: lp.Provider, Page: page})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(e fulfill.WebhookEvent) string { return e.ID })
	return rows, next, nil
}

// GetWebhookEvent returns one inbox event with its raw payload. ENotFound.
func (a *App) GetWebhookEvent(ctx context.Context, id string) (*fulfill.WebhookEvent, error) {
	var e *fulfill.WebhookEvent
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		e, err = tx.GetWebhookEvent(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ReplayWebhookEvent sets an event back to received and queues its
// processing, in one transaction; the processor applies it again (which is
// harmless for an event that already had its effect). ENotFound.
func (a *App) ReplayWebhookEvent(ctx context.Context, actor, id string) (*fulfill.WebhookEvent, error) {
	var e *fulfill.WebhookEvent
	err := a.store.Update(ctx, func(tx fulfill.Tx) error {
		if err := tx.MarkWebhookEvent(ctx, id, fulfill.WebhookReceived, "", a.clock.Now()); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, ProcessPaymentsArgs{}, processPaymentsOpts); err != nil {
			return err
		}
		var err error
		e, err = tx.GetWebhookEvent(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "webhook.replay", "event", id)
	return e, nil
}
