package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const webhookCols = `id, provider, event_id, type, raw_type, order_id, intent_id, amount, currency,
	occurred_at, payload, status, error, attempts, received_at, processed_at`

func scanWebhook(row pgx.CollectableRow) (fulfill.WebhookEvent, error) {
	var e fulfill.WebhookEvent
	err := row.Scan(&e.ID, &e.Provider, &e.EventID, &e.Type, &e.RawType, &e.OrderID, &e.IntentID,
		&e.Amount.Amount, &e.Amount.Currency, &e.OccurredAt, &e.Payload, &e.Status, &e.Error,
		&e.Attempts, &e.ReceivedAt, &e.ProcessedAt)
	utc(&e.OccurredAt)
	utc(&e.ReceivedAt)
	utcPtr(e.ProcessedAt)
	return e, err
}

// InsertWebhookEvent stores e unless (Provider, EventID) exists and reports
// whether it inserted. An empty ID becomes a new whk_ id, an empty Status
// received, a zero ReceivedAt now. ON CONFLICT DO NOTHING decides a race
// between two deliveries of one event without aborting the loser's
// transaction.
func (t *tx) InsertWebhookEvent(ctx context.Context, e *fulfill.WebhookEvent) (bool, error) {
	e.ReceivedAt = stamp(e.ReceivedAt)
	e.OccurredAt = micro(e.OccurredAt)
	e.ProcessedAt = stampPtr(e.ProcessedAt)
	if e.ID == "" {
		e.ID = fulfill.NewID("whk", e.ReceivedAt)
	}
	if e.Status == "" {
		e.Status = fulfill.WebhookReceived
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO webhook_events (`+webhookCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT DO NOTHING`,
		e.ID, e.Provider, e.EventID, string(e.Type), e.RawType, e.OrderID, e.IntentID, e.Amount.Amount,
		e.Amount.Currency, e.OccurredAt, e.Payload, string(e.Status), e.Error, e.Attempts,
		e.ReceivedAt, e.ProcessedAt)
	if err != nil {
		return false, mapErr(err, "insert webhook event")
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// A redelivery: tell the caller which stored event it duplicates.
	var status string
	err = t.tx.QueryRow(ctx, `SELECT id, status FROM webhook_events WHERE provider = $1 AND event_id = $2`,
		e.Provider, e.EventID).Scan(&e.ID, &status)
	e.Status = fulfill.WebhookStatus(status)
	return false, mapErr(err, "insert webhook event")
}

// GetWebhookEvent returns one event. ENotFound.
func (t *tx) GetWebhookEvent(ctx context.Context, id string) (*fulfill.WebhookEvent, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+webhookCols+` FROM webhook_events WHERE id = $1`, id)
	es, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil {
		return nil, mapErr(err, "get webhook event")
	}
	if len(es) == 0 {
		return nil, fulfill.Errorf(fulfill.ENotFound, "webhook event %q not found", id)
	}
	return &es[0], nil
}

// ListWebhookEvents lists events newest first (by id) after Page.After.
func (t *tx) ListWebhookEvents(ctx context.Context, f fulfill.WebhookFilter) ([]fulfill.WebhookEvent, error) {
	var w where
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if f.Provider != "" {
		w.add("provider = ?", f.Provider)
	}
	if f.Page.After != "" {
		w.add("id < ?", f.Page.After)
	}
	q := `SELECT ` + webhookCols + ` FROM webhook_events` + w.sql() + ` ORDER BY id DESC` + w.limit(pageLimit(f.Page.Limit))
	return t.webhooks(ctx, "list webhook events", q, w.args...)
}

func (t *tx) webhooks(ctx context.Context, what, q string, args ...any) ([]fulfill.WebhookEvent, error) {
	rows, _ := t.tx.Query(ctx, q, args...)
	es, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil {
		return nil, mapErr(err, what)
	}
	return es, nil
}

// MarkWebhookEvent sets an event's status and error, adds an attempt and
// stamps ProcessedAt. EInvalid for an unknown status; ENotFound.
func (t *tx) MarkWebhookEvent(ctx context.Context, id string, status fulfill.WebhookStatus, errMsg string, at time.Time) error {
	if !status.Valid() {
		return fulfill.FieldErrorf(fulfill.EInvalid, "status", "unknown webhook status %q", status)
	}
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_events SET status = $2, error = $3, attempts = attempts + 1,
		processed_at = $4 WHERE id = $1`, id, string(status), errMsg, stamp(at))
	if err != nil {
		return mapErr(err, "mark webhook event")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.Errorf(fulfill.ENotFound, "webhook event %q not found", id)
	}
	return nil
}

// MarkWebhookEvents marks many distinct events with an empty error in one
// statement. ENotFound when any id is unknown.
func (t *tx) MarkWebhookEvents(ctx context.Context, ids []string, status fulfill.WebhookStatus, at time.Time) error {
	if !status.Valid() {
		return fulfill.FieldErrorf(fulfill.EInvalid, "status", "unknown webhook status %q", status)
	}
	if len(ids) == 0 {
		return nil
	}
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_events SET status = $2, error = '', attempts = attempts + 1,
		processed_at = $3 WHERE id = ANY($1)`, ids, string(status), stamp(at))
	if err != nil {
		return mapErr(err, "mark webhook events")
	}
	if tag.RowsAffected() != int64(len(ids)) {
		return fulfill.Errorf(fulfill.ENotFound, "%d of %d webhook events not found", int64(len(ids))-tag.RowsAffected(), len(ids))
	}
	return nil
}

// ReceivedWebhookEvents returns up to limit received events by occurrence,
// then arrival (seq), from index webhook_events_status_idx, locked FOR
// UPDATE (the payment stage also holds LockAllocator, so claims do not
// contend in practice).
func (t *tx) ReceivedWebhookEvents(ctx context.Context, n int) ([]fulfill.WebhookEvent, error) {
	return t.webhooks(ctx, "received webhook events", `SELECT `+webhookCols+` FROM webhook_events
		WHERE status = $1 ORDER BY occurred_at, seq LIMIT $2`+t.forUpdate(),
		string(fulfill.WebhookReceived), pageLimit(n))
}
