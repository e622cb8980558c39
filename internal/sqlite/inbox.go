package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/fulfill-dev/fulfill"
)

// The webhook inbox is a second SQLite file next to the database
// (fulfill.db → fulfill-inbox.db) with its own writer connection.
//
// Why: SQLite has one writer per file. With the inbox in the main file, a
// webhook's acknowledgement waited for whatever transaction held the writer
// — a payment batch reserving stock for dozens of orders, a checkout — and
// its p99 followed the pipeline's work instead of the commit of one row.
// In a file of its own, an acknowledgement waits only for other
// acknowledgements (which share its group commit).
//
// How events reach the pipeline exactly once: the inbox is append-only;
// the main file keeps a cursor (inbox_cursor, the seq of the last row
// copied). Tx.ReceivedWebhookEvents first copies the rows beyond the cursor
// into webhook_events, status received, and advances the cursor in the same
// transaction — a rolled-back transaction copies nothing, a committed one
// copies each row once. Until then, lists and gets show those rows as
// received. Both files are WAL with the same synchronous setting, so an
// acknowledged event survives kill -9 as any other commit does.

//go:embed inbox_migrations/*.sql
var inboxMigrationsFS embed.FS

var _ fulfill.WebhookInbox = (*Store)(nil)

// inboxReaderConns is the size of the inbox's read-only pool.
const inboxReaderConns = 2

// InboxPath is the webhook inbox's file for the database file path.
func InboxPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-inbox" + ext
}

const inboxCols = `id, provider, event_id, type, raw_type, order_id, intent_id, amount, currency,
	occurred_at, payload, received_at`

// scanInbox scans inboxCols after the columns of pre.
func scanInbox(s scanner, pre ...any) (*fulfill.WebhookEvent, error) {
	e := fulfill.WebhookEvent{Status: fulfill.WebhookReceived}
	err := s.Scan(append(pre, &e.ID, &e.Provider, &e.EventID, &e.Type, &e.RawType, &e.OrderID, &e.IntentID,
		&e.Amount.Amount, &e.Amount.Currency, timeCol{&e.OccurredAt}, &e.Payload, timeCol{&e.ReceivedAt})...)
	return &e, err
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readCursor reads inbox_cursor (the main file's) through q.
func readCursor(ctx context.Context, q rowQuerier) (int64, error) {
	var cursor int64
	err := q.QueryRowContext(ctx, `SELECT seq FROM inbox_cursor WHERE id = 1`).Scan(&cursor)
	return cursor, mapErr(err, "inbox cursor")
}

// migrateInbox applies the inbox file's migrations.
func (s *Store) migrateInbox(ctx context.Context) error {
	sub, err := fs.Sub(inboxMigrationsFS, "inbox_migrations")
	if err != nil {
		return fulfill.Wrap(err, "inbox migrations")
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.inbox.writer, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fulfill.Wrap(err, "inbox migrations")
	}
	if _, err := p.Up(ctx); err != nil {
		return fulfill.Wrap(err, "apply inbox migrations")
	}
	return nil
}

// alignInbox makes the inbox's next seq follow the main file's cursor. An
// inbox file restored from an older backup than the database, or deleted,
// would otherwise number new events at or below the cursor, and the
// payment stage would never copy them.
func (s *Store) alignInbox(ctx context.Context) error {
	cursor, err := readCursor(ctx, s.writer)
	if err != nil {
		return err
	}
	var last int64
	err = s.inbox.writer.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM
		(SELECT seq FROM sqlite_sequence WHERE name = 'webhook_inbox' UNION ALL SELECT MAX(seq) FROM webhook_inbox)`).Scan(&last)
	if err != nil || last >= cursor {
		return mapErr(err, "webhook inbox")
	}
	s.log.Warn("the webhook inbox is behind the database (restored from an older backup?); numbering new events after the cursor",
		"inbox_seq", last, "cursor", cursor)
	_, err = s.inbox.writer.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = 'webhook_inbox'`)
	if err == nil {
		_, err = s.inbox.writer.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES ('webhook_inbox', ?)`, cursor)
	}
	return mapErr(err, "webhook inbox")
}

// StoreWebhookEvents stores each event in the inbox file unless its
// (Provider, EventID) is there already, all in one transaction on the
// inbox's own writer, and reports which it inserted. It fills an empty ID
// (a new whk_ id), Status (received) and ReceivedAt (now); a duplicate gets
// the stored event's ID.
func (s *Store) StoreWebhookEvents(ctx context.Context, evs []*fulfill.WebhookEvent) ([]bool, error) {
	inserted := make([]bool, len(evs))
	tx, err := s.inbox.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(err, "begin inbox transaction")
	}
	defer func() { _ = tx.Rollback() }()
	for i, e := range evs {
		e.ReceivedAt = orNow(e.ReceivedAt)
		if e.ID == "" {
			e.ID = fulfill.NewID("whk", e.ReceivedAt)
		}
		e.Status = fulfill.WebhookReceived
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_inbox (`+inboxCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING`,
			e.ID, e.Provider, e.EventID, string(e.Type), e.RawType, e.OrderID, e.IntentID, e.Amount.Amount,
			e.Amount.Currency, formatTime(e.OccurredAt), e.Payload, formatTime(e.ReceivedAt))
		if err != nil {
			return nil, mapErr(err, "webhook event")
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			inserted[i] = n == 1
			if err != nil {
				return nil, mapErr(err, "webhook event")
			}
			continue
		}
		// A redelivery: tell the caller which stored event it duplicates.
		if err := tx.QueryRowContext(ctx, `SELECT id FROM webhook_inbox WHERE provider = ? AND event_id = ?`,
			e.Provider, e.EventID).Scan(&e.ID); err != nil {
			return nil, mapErr(err, "webhook event")
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, mapErr(err, "commit inbox")
	}
	return inserted, nil
}

// WebhookBacklog reports whether inbox events wait to be copied into
// webhook_events (after a restart: the payment stage must run).
func (s *Store) WebhookBacklog(ctx context.Context) (bool, error) {
	cursor, err := readCursor(ctx, s.reader)
	if err != nil {
		return false, err
	}
	var n int
	err = s.inbox.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhook_inbox WHERE seq > ? LIMIT 1)`,
		cursor).Scan(&n)
	return n > 0, mapErr(err, "webhook inbox")
}

// copyInbox copies up to n inbox rows beyond the cursor into
// webhook_events (status received; an event already there by (provider,
// event id) is skipped) and advances the cursor, in this transaction.
func (t *txn) copyInbox(ctx context.Context, n int) error {
	if t.readOnly {
		return nil
	}
	cursor, err := readCursor(ctx, t.tx)
	if err != nil {
		return err
	}
	rows, err := t.s.inbox.reader.QueryContext(ctx, `SELECT seq, `+inboxCols+` FROM webhook_inbox
		WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, n)
	if err != nil {
		return mapErr(err, "webhook inbox")
	}
	defer rows.Close()
	last := cursor
	for rows.Next() {
		var seq int64
		e, err := scanInbox(rows, &seq)
		if err != nil {
			return mapErr(err, "webhook inbox")
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO webhook_events (`+webhookCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, ?, NULL) ON CONFLICT DO NOTHING`,
			e.ID, e.Provider, e.EventID, string(e.Type), e.RawType, e.OrderID, e.IntentID, e.Amount.Amount,
			e.Amount.Currency, formatTime(e.OccurredAt), e.Payload, string(e.Status),
			formatTime(e.ReceivedAt)); err != nil {
			return mapErr(err, "webhook event")
		}
		last = seq
	}
	if err := rows.Err(); err != nil {
		return mapErr(err, "webhook inbox")
	}
	if last == cursor {
		return nil
	}
	_, err = t.tx.ExecContext(ctx, `UPDATE inbox_cursor SET seq = ? WHERE id = 1`, last)
	return mapErr(err, "inbox cursor")
}

// inboxEvent returns the inbox event id if it has not been copied yet in
// this transaction's snapshot, or nil.
func (t *txn) inboxEvent(ctx context.Context, id string) (*fulfill.WebhookEvent, error) {
	cursor, err := readCursor(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	e, err := scanInbox(t.s.inbox.reader.QueryRowContext(ctx, `SELECT `+inboxCols+` FROM webhook_inbox
		WHERE id = ? AND seq > ?`, id, cursor))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(err, "webhook inbox")
	}
	return e, nil
}

// mergeInbox adds to a page of events (newest first) the inbox events not
// copied yet in this transaction's snapshot that match f (they are all
// received), keeping the page's order and size.
func (t *txn) mergeInbox(ctx context.Context, page []fulfill.WebhookEvent, f fulfill.WebhookFilter) ([]fulfill.WebhookEvent, error) {
	if f.Status != "" && f.Status != fulfill.WebhookReceived {
		return page, nil
	}
	cursor, err := readCursor(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	// NOT INDEXED: the rows beyond the cursor are few and found by their
	// seq (the rowid); the id index would walk the whole inbox.
	q, args := pageOfWebhooks(`SELECT `+inboxCols+` FROM webhook_inbox NOT INDEXED WHERE seq > ?`, []any{cursor}, f)
	rows, err := t.s.inbox.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, "webhook inbox")
	}
	defer rows.Close()
	var extra []fulfill.WebhookEvent
	for rows.Next() {
		e, err := scanInbox(rows)
		if err != nil {
			return nil, mapErr(err, "webhook inbox")
		}
		extra = append(extra, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "webhook inbox")
	}
	if len(extra) == 0 {
		return page, nil
	}
	page = append(page, extra...)
	slices.SortFunc(page, func(a, b fulfill.WebhookEvent) int { return strings.Compare(b.ID, a.ID) })
	return page[:min(len(page), limit(f.Page.Limit))], nil
}
