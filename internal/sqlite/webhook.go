package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const webhookCols = `id, provider, event_id, type, raw_type, order_id, intent_id, amount, currency,
	occurred_at, payload, status, error, attempts, received_at, processed_at`

func scanWebhook(s scanner) (*fulfill.WebhookEvent, error) {
	var e fulfill.WebhookEvent
	err := s.Scan(&e.ID, &e.Provider, &e.EventID, &e.Type, &e.RawType, &e.OrderID, &e.IntentID,
		&e.Amount.Amount, &e.Amount.Currency, timeCol{&e.OccurredAt}, &e.Payload, &e.Status, &e.Error,
		&e.Attempts, timeCol{&e.ReceivedAt}, nullTimeCol{&e.ProcessedAt})
	return &e, err
}

// InsertWebhookEvent stores e unless (Provider, EventID) exists and reports
// whether it inserted. An empty ID becomes a new whk_ id, an empty Status
// received, a zero ReceivedAt now. The unique index decides a race between
// two deliveries of one event.
func (t *txn) InsertWebhookEvent(ctx context.Context, e *fulfill.WebhookEvent) (bool, error) {
	if err := t.writable("insert webhook event"); err != nil {
		return false, err
	}
	e.ReceivedAt = orNow(e.ReceivedAt)
	if e.ID == "" {
		e.ID = fulfill.NewID("whk", e.ReceivedAt)
	}
	if e.Status == "" {
		e.Status = fulfill.WebhookReceived
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO webhook_events (`+webhookCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, event_id) DO NOTHING`,
		e.ID, e.Provider, e.EventID, string(e.Type), e.RawType, e.OrderID, e.IntentID, e.Amount.Amount,
		e.Amount.Currency, formatTime(e.OccurredAt), e.Payload, string(e.Status), e.Error, e.Attempts,
		formatTime(e.ReceivedAt), nullTime(e.ProcessedAt))
	if err != nil {
		return false, mapErr(err, "webhook event")
	}
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return n == 1, mapErr(err, "webhook event")
	}
	// A redelivery: tell the caller which stored event it duplicates.
	var status string
	err = t.tx.QueryRowContext(ctx, `SELECT id, status FROM webhook_events WHERE provider = ? AND event_id = ?`,
		e.Provider, e.EventID).Scan(&e.ID, &status)
	e.Status = fulfill.WebhookStatus(status)
	return false, mapErr(err, "webhook event")
}

// GetWebhookEvent returns one event, from the inbox file when it has not
// been copied yet (inbox.go). ENotFound.
func (t *txn) GetWebhookEvent(ctx context.Context, id string) (*fulfill.WebhookEvent, error) {
	e, err := scanWebhook(t.tx.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhook_events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		if e, ierr := t.inboxEvent(ctx, id); ierr != nil || e != nil {
			return e, ierr
		}
	}
	if err != nil {
		return nil, mapErr(err, "webhook event")
	}
	return e, nil
}

// ListWebhookEvents lists events newest first (by id) after Page.After,
// those of the inbox file not copied yet among them (inbox.go).
func (t *txn) ListWebhookEvents(ctx context.Context, f fulfill.WebhookFilter) ([]fulfill.WebhookEvent, error) {
	q, args := `SELECT `+webhookCols+` FROM webhook_events WHERE 1 = 1`, []any{}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q, args = pageOfWebhooks(q, args, f)
	page, err := list(ctx, t.tx, q, args, "webhook events", scanWebhook)
	if err != nil {
		return nil, err
	}
	return t.mergeInbox(ctx, page, f)
}

// pageOfWebhooks adds f's provider and page to q (a SELECT with a WHERE
// clause) and args: newest first by id, after Page.After.
func pageOfWebhooks(q string, args []any, f fulfill.WebhookFilter) (string, []any) {
	if f.Provider != "" {
		q += ` AND provider = ?`
		args = append(args, f.Provider)
	}
	if f.Page.After != "" {
		q += ` AND id < ?`
		args = append(args, f.Page.After)
	}
	return q + ` ORDER BY id DESC LIMIT ?`, append(args, limit(f.Page.Limit))
}

// MarkWebhookEvent sets an event's status and error, adds an attempt and
// stamps ProcessedAt. EInvalid for an unknown status; ENotFound.
func (t *txn) MarkWebhookEvent(ctx context.Context, id string, status fulfill.WebhookStatus, errMsg string, at time.Time) error {
	if err := t.writable("mark webhook event"); err != nil {
		return err
	}
	if !status.Valid() {
		return fulfill.FieldErrorf(fulfill.EInvalid, "status", "unknown webhook status %q", status)
	}
	mark := func() error {
		res, err := t.tx.ExecContext(ctx, `UPDATE webhook_events SET status = ?, error = ?, attempts = attempts + 1,
			processed_at = ? WHERE id = ?`, string(status), errMsg, formatTime(orNow(at)), id)
		return affected(res, err, "webhook event")
	}
	err := mark()
	if fulfill.IsCode(err, fulfill.ENotFound) {
		// Perhaps still in the inbox file only: copy it, then mark it.
		if e, ierr := t.inboxEvent(ctx, id); ierr != nil || e == nil {
			return errors.Join(err, ierr)
		}
		if err := t.copyInbox(ctx, maxInboxCopy); err != nil {
			return err
		}
		err = mark()
	}
	return err
}

// MarkWebhookEvents marks many events with an empty error in one
// statement (up to 500 ids per statement). ENotFound when any is unknown.
func (t *txn) MarkWebhookEvents(ctx context.Context, ids []string, status fulfill.WebhookStatus, at time.Time) error {
	if err := t.writable("mark webhook events"); err != nil {
		return err
	}
	if !status.Valid() {
		return fulfill.FieldErrorf(fulfill.EInvalid, "status", "unknown webhook status %q", status)
	}
	when := formatTime(orNow(at))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, string(status), when)
		for _, id := range chunk {
			args = append(args, id)
		}
		res, err := t.tx.ExecContext(ctx, `UPDATE webhook_events SET status = ?, error = '', attempts = attempts + 1,
			processed_at = ? WHERE id IN (`+strings.Repeat("?, ", len(chunk)-1)+`?)`, args...)
		if err != nil {
			return mapErr(err, "webhook events")
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return &fulfill.Error{Code: fulfill.ENotFound, Err: err, Message: "webhook event not found"}
		}
	}
	return nil
}

// ReceivedWebhookEvents first copies up to n new events from the inbox
// file (inbox.go), then returns up to n received events by occurrence,
// then arrival (seq), from index webhook_events_status. The transaction
// holds SQLite's single write lock, so the claim needs no row locks.
func (t *txn) ReceivedWebhookEvents(ctx context.Context, n int) ([]fulfill.WebhookEvent, error) {
	if err := t.copyInbox(ctx, limit(n)); err != nil {
		return nil, err
	}
	return list(ctx, t.tx, `SELECT `+webhookCols+` FROM webhook_events WHERE status = ?
		ORDER BY occurred_at, seq LIMIT ?`, []any{string(fulfill.WebhookReceived), limit(n)},
		"webhook events", scanWebhook)
}

// maxInboxCopy is the most inbox rows one copy takes when an event is
// marked before the payment stage copied it.
const maxInboxCopy = 1000
