package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const reservationCols = `order_id, sku, warehouse, bin, quantity, kind, expires_at, created_at`

func scanReservation(row pgx.CollectableRow) (fulfill.Reservation, error) {
	var r fulfill.Reservation
	err := row.Scan(&r.OrderID, &r.SKU, &r.Warehouse, &r.Bin, &r.Quantity, &r.Kind, &r.ExpiresAt, &r.CreatedAt)
	utcPtr(r.ExpiresAt)
	utc(&r.CreatedAt)
	return r, err
}

func (t *tx) reservations(ctx context.Context, what, q string, args ...any) ([]fulfill.Reservation, error) {
	rows, _ := t.tx.Query(ctx, q, args...)
	rs, err := pgx.CollectRows(rows, scanReservation)
	if err != nil {
		return nil, mapErr(err, what)
	}
	return rs, nil
}

// AddReservation records reserved units of an order. EInvalid for an
// unknown kind or a quantity below one; ENotFound for an unknown order,
// SKU or bin (found by INSERT … SELECT, not by a foreign-key error that
// would abort the transaction).
func (t *tx) AddReservation(ctx context.Context, r fulfill.Reservation) error {
	if r.Kind != fulfill.ReservationFirm && r.Kind != fulfill.ReservationHold {
		return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown reservation kind %q", r.Kind)
	}
	if r.Quantity < 1 {
		return fulfill.FieldErrorf(fulfill.EInvalid, "quantity", "reservation quantity must be at least 1")
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO reservations (`+reservationCols+`)
		SELECT o.id, p.sku, b.warehouse, b.code, $5, $6, $7, $8
		FROM orders o, products p, bins b
		WHERE o.id = $1 AND p.sku = $2 AND b.warehouse = $3 AND b.code = $4`,
		r.OrderID, r.SKU, r.Warehouse, r.Bin, r.Quantity, string(r.Kind), stampPtr(r.ExpiresAt), stamp(r.CreatedAt))
	if err != nil {
		return mapErr(err, "add reservation")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.Errorf(fulfill.ENotFound, "reservation refers to an unknown order %q, SKU %q or bin %s/%s",
			r.OrderID, r.SKU, r.Warehouse, r.Bin)
	}
	return nil
}

// AddReservations records many reservations in one statement (unnest,
// joined like AddReservation's so unknown rows are counted, not raised).
// ENotFound when any refers to an unknown order, SKU or bin.
func (t *tx) AddReservations(ctx context.Context, rs []fulfill.Reservation) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	ord, sku, wh, bin, kind := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	qty, exp, at := make([]int64, n), make([]*time.Time, n), make([]time.Time, n)
	for i, r := range rs {
		if r.Kind != fulfill.ReservationFirm && r.Kind != fulfill.ReservationHold {
			return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown reservation kind %q", r.Kind)
		}
		if r.Quantity < 1 {
			return fulfill.FieldErrorf(fulfill.EInvalid, "quantity", "reservation quantity must be at least 1")
		}
		ord[i], sku[i], wh[i], bin[i], kind[i] = r.OrderID, r.SKU, r.Warehouse, r.Bin, string(r.Kind)
		qty[i], exp[i], at[i] = r.Quantity, stampPtr(r.ExpiresAt), stamp(r.CreatedAt)
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO reservations (`+reservationCols+`)
		SELECT o.id, p.sku, b.warehouse, b.code, x.qty, x.kind, x.exp, x.at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
			$7::timestamptz[], $8::timestamptz[]) WITH ORDINALITY AS x(ord, sku, wh, bin, qty, kind, exp, at, n)
		JOIN orders o ON o.id = x.ord JOIN products p ON p.sku = x.sku
		JOIN bins b ON b.warehouse = x.wh AND b.code = x.bin
		ORDER BY x.n`, ord, sku, wh, bin, qty, kind, exp, at)
	if err != nil {
		return mapErr(err, "add reservations")
	}
	if tag.RowsAffected() != int64(n) {
		return fulfill.Errorf(fulfill.ENotFound, "%d of %d reservations refer to an unknown order, SKU or bin",
			int64(n)-tag.RowsAffected(), n)
	}
	return nil
}

// Reservations lists an order's reservations in the order they were made.
func (t *tx) Reservations(ctx context.Context, orderID string) ([]fulfill.Reservation, error) {
	return t.reservations(ctx, "reservations", `SELECT `+reservationCols+` FROM reservations
		WHERE order_id = $1 ORDER BY id`, orderID)
}

// DeleteReservations removes an order's reservations of kind (all when
// empty) and returns them.
func (t *tx) DeleteReservations(ctx context.Context, orderID string, kind fulfill.ReservationKind) ([]fulfill.Reservation, error) {
	return t.reservations(ctx, "delete reservations", `DELETE FROM reservations
		WHERE order_id = $1 AND ($2 = '' OR kind = $2) RETURNING `+reservationCols, orderID, string(kind))
}

// ConvertHolds turns an order's holds into firm reservations (no expiry)
// and returns them.
func (t *tx) ConvertHolds(ctx context.Context, orderID string) ([]fulfill.Reservation, error) {
	return t.reservations(ctx, "convert holds", `UPDATE reservations SET kind = $2, expires_at = NULL
		WHERE order_id = $1 AND kind = $3 RETURNING `+reservationCols,
		orderID, string(fulfill.ReservationFirm), string(fulfill.ReservationHold))
}

// ExpiredHolds returns ids of orders with a hold that expired before now,
// the earliest expiry first.
func (t *tx) ExpiredHolds(ctx context.Context, now time.Time, n int) ([]string, error) {
	rows, _ := t.tx.Query(ctx, `SELECT order_id FROM reservations WHERE kind = $1 AND expires_at < $2
		GROUP BY order_id ORDER BY min(expires_at), order_id LIMIT $3`,
		string(fulfill.ReservationHold), now, pageLimit(n))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr(err, "expired holds")
	}
	return ids, nil
}

const notificationCols = `id, order_id, event, dedupe_key, payload, status, created_at`

// AddNotification queues n unless its DedupeKey exists, and reports
// whether it inserted. An empty ID becomes a new ntf_ id, an empty Status
// "pending", a zero CreatedAt now. ON CONFLICT DO NOTHING keeps the
// transaction usable after a duplicate.
func (t *tx) AddNotification(ctx context.Context, n *fulfill.Notification) (bool, error) {
	n.CreatedAt = stamp(n.CreatedAt)
	if n.ID == "" {
		n.ID = fulfill.NewID("ntf", n.CreatedAt)
	}
	if n.Status == "" {
		n.Status = "pending"
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO notifications (`+notificationCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		n.ID, n.OrderID, n.Event, n.DedupeKey, n.Payload, n.Status, n.CreatedAt)
	if err != nil {
		return false, mapErr(err, "add notification")
	}
	return tag.RowsAffected() == 1, nil
}

// AddNotifications queues many notifications in order in one statement
// (unnest WITH ORDINALITY keeps their order for seq); ON CONFLICT DO
// NOTHING skips existing dedupe keys, and repeats within ns.
func (t *tx) AddNotifications(ctx context.Context, ns []*fulfill.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	k := len(ns)
	id, ord, ev, key, st := make([]string, k), make([]string, k), make([]string, k), make([]string, k), make([]string, k)
	body, at := make([][]byte, k), make([]time.Time, k)
	for i, n := range ns {
		n.CreatedAt = stamp(n.CreatedAt)
		if n.ID == "" {
			n.ID = fulfill.NewID("ntf", n.CreatedAt)
		}
		if n.Status == "" {
			n.Status = "pending"
		}
		id[i], ord[i], ev[i], key[i], st[i], body[i], at[i] = n.ID, n.OrderID, string(n.Event), n.DedupeKey, n.Status, n.Payload, n.CreatedAt
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO notifications (`+notificationCols+`)
		SELECT x.id, x.ord, x.ev, x.key, x.body, x.st, x.at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::timestamptz[])
			WITH ORDINALITY AS x(id, ord, ev, key, body, st, at, n)
		ORDER BY x.n ON CONFLICT DO NOTHING`, id, ord, ev, key, body, st, at)
	return mapErr(err, "add notifications")
}

// Notifications lists an order's notifications in the order they were
// queued.
func (t *tx) Notifications(ctx context.Context, orderID string) ([]fulfill.Notification, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+notificationCols+` FROM notifications
		WHERE order_id = $1 ORDER BY seq`, orderID)
	ns, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.Notification, error) {
		var n fulfill.Notification
		err := row.Scan(&n.ID, &n.OrderID, &n.Event, &n.DedupeKey, &n.Payload, &n.Status, &n.CreatedAt)
		utc(&n.CreatedAt)
		return n, err
	})
	if err != nil {
		return nil, mapErr(err, "notifications")
	}
	return ns, nil
}

// SetStockThreshold sets a threshold, keeping its Low flag. ENotFound for
// an unknown SKU or warehouse (INSERT … SELECT, so no foreign-key error).
func (t *tx) SetStockThreshold(ctx context.Context, th fulfill.StockThreshold) error {
	tag, err := t.tx.Exec(ctx, `INSERT INTO stock_thresholds (sku, warehouse, threshold, low)
		SELECT p.sku, w.code, $3, $4 FROM products p, warehouses w WHERE p.sku = $1 AND w.code = $2
		ON CONFLICT (sku, warehouse) DO UPDATE SET threshold = excluded.threshold`,
		th.SKU, th.Warehouse, th.Threshold, th.Low)
	if err != nil {
		return mapErr(err, "set stock threshold")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.Errorf(fulfill.ENotFound, "unknown SKU %q or warehouse %q", th.SKU, th.Warehouse)
	}
	return nil
}

// StockThresholds returns the thresholds of sku (all when empty) by SKU,
// then warehouse.
func (t *tx) StockThresholds(ctx context.Context, sku string) ([]fulfill.StockThreshold, error) {
	rows, _ := t.tx.Query(ctx, `SELECT sku, warehouse, threshold, low FROM stock_thresholds
		WHERE $1 = '' OR sku = $1 ORDER BY sku, warehouse`, sku)
	ths, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.StockThreshold, error) {
		var th fulfill.StockThreshold
		err := row.Scan(&th.SKU, &th.Warehouse, &th.Threshold, &th.Low)
		return th, err
	})
	if err != nil {
		return nil, mapErr(err, "stock thresholds")
	}
	return ths, nil
}

// MarkStockLow sets the Low flag of a threshold. ENotFound.
func (t *tx) MarkStockLow(ctx context.Context, sku, warehouse string, low bool) error {
	tag, err := t.tx.Exec(ctx, `UPDATE stock_thresholds SET low = $3 WHERE sku = $1 AND warehouse = $2`,
		sku, warehouse, low)
	if err != nil {
		return mapErr(err, "mark stock low")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.Errorf(fulfill.ENotFound, "no stock threshold for %q in %q", sku, warehouse)
	}
	return nil
}
