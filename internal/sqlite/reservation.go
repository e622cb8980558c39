package sqlite

import (
	"context"
	"time"

	"github.com/fulfill-dev/fulfill"
)

const reservationCols = `order_id, sku, warehouse, bin, quantity, kind, expires_at, created_at`

func scanReservation(s scanner) (*fulfill.Reservation, error) {
	var r fulfill.Reservation
	err := s.Scan(&r.OrderID, &r.SKU, &r.Warehouse, &r.Bin, &r.Quantity, &r.Kind,
		nullTimeCol{&r.ExpiresAt}, timeCol{&r.CreatedAt})
	return &r, err
}

// AddReservation records reserved units of an order. EInvalid for an
// unknown kind or a quantity below one; ENotFound for an unknown order,
// SKU or bin.
func (t *txn) AddReservation(ctx context.Context, r fulfill.Reservation) error {
	if err := t.writable("add reservation"); err != nil {
		return err
	}
	if r.Kind != fulfill.ReservationFirm && r.Kind != fulfill.ReservationHold {
		return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown reservation kind %q", r.Kind)
	}
	if r.Quantity < 1 {
		return fulfill.FieldErrorf(fulfill.EInvalid, "quantity", "reservation quantity must be at least 1")
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO reservations (`+reservationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.OrderID, r.SKU, r.Warehouse, r.Bin, r.Quantity, string(r.Kind),
		nullTime(r.ExpiresAt), formatTime(orNow(r.CreatedAt)))
	return mapErr(err, "reservation")
}

// AddReservations records many reservations in multi-row statements
// (foreign keys report unknown rows: ENotFound).
func (t *txn) AddReservations(ctx context.Context, rs []fulfill.Reservation) error {
	if err := t.writable("add reservations"); err != nil {
		return err
	}
	args := make([]any, 0, 8*len(rs))
	for _, r := range rs {
		if r.Kind != fulfill.ReservationFirm && r.Kind != fulfill.ReservationHold {
			return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown reservation kind %q", r.Kind)
		}
		if r.Quantity < 1 {
			return fulfill.FieldErrorf(fulfill.EInvalid, "quantity", "reservation quantity must be at least 1")
		}
		args = append(args, r.OrderID, r.SKU, r.Warehouse, r.Bin, r.Quantity, string(r.Kind),
			nullTime(r.ExpiresAt), formatTime(orNow(r.CreatedAt)))
	}
	return t.insertRows(ctx, `INSERT INTO reservations (`+reservationCols+`) VALUES `, 8, args, "reservation")
}

// Reservations lists an order's reservations in the order they were made.
func (t *txn) Reservations(ctx context.Context, orderID string) ([]fulfill.Reservation, error) {
	return list(ctx, t.tx, `SELECT `+reservationCols+` FROM reservations WHERE order_id = ? ORDER BY id`,
		[]any{orderID}, "reservations", scanReservation)
}

// DeleteReservations removes an order's reservations of kind (all when
// empty) and returns them.
func (t *txn) DeleteReservations(ctx context.Context, orderID string, kind fulfill.ReservationKind) ([]fulfill.Reservation, error) {
	if err := t.writable("delete reservations"); err != nil {
		return nil, err
	}
	// SQLite gives no order for RETURNING rows; callers only sum them.
	return list(ctx, t.tx, `DELETE FROM reservations WHERE order_id = ? AND (? = '' OR kind = ?)
		RETURNING `+reservationCols, []any{orderID, string(kind), string(kind)}, "reservations", scanReservation)
}

// ConvertHolds turns an order's holds into firm reservations (no expiry)
// and returns them.
func (t *txn) ConvertHolds(ctx context.Context, orderID string) ([]fulfill.Reservation, error) {
	if err := t.writable("convert holds"); err != nil {
		return nil, err
	}
	return list(ctx, t.tx, `UPDATE reservations SET kind = ?, expires_at = NULL WHERE order_id = ? AND kind = ?
		RETURNING `+reservationCols, []any{string(fulfill.ReservationFirm), orderID, string(fulfill.ReservationHold)},
		"reservations", scanReservation)
}

// ExpiredHolds returns ids of orders with a hold that expired before now,
// the earliest expiry first.
func (t *txn) ExpiredHolds(ctx context.Context, now time.Time, n int) ([]string, error) {
	return list(ctx, t.tx, `SELECT order_id FROM reservations WHERE kind = ? AND expires_at < ?
		GROUP BY order_id ORDER BY MIN(expires_at), order_id LIMIT ?`,
		[]any{string(fulfill.ReservationHold), formatTime(now), limit(n)}, "expired holds", scanString)
}

const notificationCols = `id, order_id, event, dedupe_key, payload, status, created_at`

// AddNotification queues n unless its DedupeKey exists, and reports
// whether it inserted. An empty ID becomes a new ntf_ id, an empty Status
// "pending", a zero CreatedAt now.
func (t *txn) AddNotification(ctx context.Context, n *fulfill.Notification) (bool, error) {
	if err := t.writable("add notification"); err != nil {
		return false, err
	}
	n.CreatedAt = orNow(n.CreatedAt)
	if n.ID == "" {
		n.ID = fulfill.NewID("ntf", n.CreatedAt)
	}
	if n.Status == "" {
		n.Status = "pending"
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO notifications (`+notificationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
		n.ID, n.OrderID, n.Event, n.DedupeKey, n.Payload, n.Status, formatTime(n.CreatedAt))
	if err != nil {
		return false, mapErr(err, "notification")
	}
	c, err := res.RowsAffected()
	return c == 1, mapErr(err, "notification")
}

// AddNotifications queues many notifications in order in multi-row
// statements, each unless its dedupe key exists (ON CONFLICT DO NOTHING
// also skips a key repeated within ns).
func (t *txn) AddNotifications(ctx context.Context, ns []*fulfill.Notification) error {
	if err := t.writable("add notifications"); err != nil {
		return err
	}
	args := make([]any, 0, 7*len(ns))
	for _, n := range ns {
		n.CreatedAt = orNow(n.CreatedAt)
		if n.ID == "" {
			n.ID = fulfill.NewID("ntf", n.CreatedAt)
		}
		if n.Status == "" {
			n.Status = "pending"
		}
		args = append(args, n.ID, n.OrderID, n.Event, n.DedupeKey, n.Payload, n.Status, formatTime(n.CreatedAt))
	}
	const per = 500
	for start := 0; start < len(args); start += per * 7 {
		chunk := args[start:min(start+per*7, len(args))]
		_, err := t.tx.ExecContext(ctx, `INSERT INTO notifications (`+notificationCols+`) VALUES `+
			valueRows(len(chunk)/7, 7)+` ON CONFLICT (dedupe_key) DO NOTHING`, chunk...)
		if err != nil {
			return mapErr(err, "notifications")
		}
	}
	return nil
}

// Notifications lists an order's notifications in the order they were
// queued.
func (t *txn) Notifications(ctx context.Context, orderID string) ([]fulfill.Notification, error) {
	return list(ctx, t.tx, `SELECT `+notificationCols+` FROM notifications WHERE order_id = ? ORDER BY seq`,
		[]any{orderID}, "notifications", func(s scanner) (*fulfill.Notification, error) {
			var n fulfill.Notification
			err := s.Scan(&n.ID, &n.OrderID, &n.Event, &n.DedupeKey, &n.Payload, &n.Status, timeCol{&n.CreatedAt})
			return &n, err
		})
}

// SetStockThreshold sets a threshold, keeping its Low flag. ENotFound for
// an unknown SKU or warehouse (the foreign keys).
func (t *txn) SetStockThreshold(ctx context.Context, th fulfill.StockThreshold) error {
	if err := t.writable("set stock threshold"); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO stock_thresholds (sku, warehouse, threshold, low)
		VALUES (?, ?, ?, ?) ON CONFLICT (sku, warehouse) DO UPDATE SET threshold = excluded.threshold`,
		th.SKU, th.Warehouse, th.Threshold, th.Low)
	return mapErr(err, "stock threshold")
}

// StockThresholds returns the thresholds of sku (all when empty) by SKU,
// then warehouse.
func (t *txn) StockThresholds(ctx context.Context, sku string) ([]fulfill.StockThreshold, error) {
	q, args := `SELECT sku, warehouse, threshold, low FROM stock_thresholds`, []any{}
	if sku != "" { // a condition on the key only, so that the primary key serves it
		q += ` WHERE sku = ?`
		args = append(args, sku)
	}
	return list(ctx, t.tx, q+` ORDER BY sku, warehouse`, args, "stock thresholds",
		func(s scanner) (*fulfill.StockThreshold, error) {
			var th fulfill.StockThreshold
			err := s.Scan(&th.SKU, &th.Warehouse, &th.Threshold, &th.Low)
			return &th, err
		})
}

// MarkStockLow sets the Low flag of a threshold. ENotFound.
func (t *txn) MarkStockLow(ctx context.Context, sku, warehouse string, low bool) error {
	if err := t.writable("mark stock low"); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE stock_thresholds SET low = ? WHERE sku = ? AND warehouse = ?`,
		low, sku, warehouse)
	return affected(res, err, "stock threshold")
}
