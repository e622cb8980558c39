package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fulfill-dev/fulfill"
)

// updateStockSQL changes an existing bin_stock row in one guarded
// statement, never read-then-write: the row changes only when afterwards
// 0 <= reserved <= on hand; otherwise no row comes back.
const updateStockSQL = `UPDATE bin_stock SET on_hand = on_hand + ?, reserved = reserved + ?
	WHERE sku = ? AND warehouse = ? AND bin = ?
	  AND on_hand + ? >= reserved + ? AND reserved + ? >= 0
	RETURNING on_hand, reserved`

// insertStockSQL creates the row of a SKU's first movement into a bin, with
// the deltas as its figures. The table's CHECK refuses negative figures and
// the foreign keys an unknown SKU or bin; an existing row (whose guard
// failed above) is left alone. (One upsert cannot do both: SQLite checks
// the CHECK constraint on the VALUES row before it detects the conflict.)
// Nothing is written when a movement is refused, not even an empty row.
const insertStockSQL = `INSERT INTO bin_stock (sku, warehouse, bin, on_hand, reserved) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (sku, warehouse, bin) DO NOTHING
	RETURNING on_hand, reserved`

// insertLedgerSQL appends one ledger row.
const insertLedgerSQL = `INSERT INTO stock_ledger (sku, warehouse, bin, kind, on_hand_delta,
		reserved_delta, on_hand_after, reserved_after, cause, actor, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// MoveStock applies m and appends its ledger row. ENotFound for an unknown
// SKU, warehouse or bin; EInsufficient when the movement would break
// 0 <= reserved <= on hand, in which case nothing is written and the
// transaction remains usable.
func (t *txn) MoveStock(ctx context.Context, m fulfill.StockMovement) (*fulfill.LedgerEntry, error) {
	if err := t.writable("move stock"); err != nil {
		return nil, err
	}
	if !m.Kind.Valid() {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown movement kind %q", m.Kind)
	}
	e := fulfill.LedgerEntry{
		SKU: m.SKU, Warehouse: m.Warehouse, Bin: m.Bin, Kind: m.Kind,
		OnHandDelta: m.OnHandDelta, ReservedDelta: m.ReservedDelta,
		Cause: m.Cause, Actor: m.Actor, At: orNow(m.At),
	}
	dOn, dRes := m.OnHandDelta, m.ReservedDelta
	err := t.tx.QueryRowContext(ctx, updateStockSQL, dOn, dRes, m.SKU, m.Warehouse, m.Bin, dOn, dRes, dRes).
		Scan(&e.OnHandAfter, &e.ReservedAfter)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.tx.QueryRowContext(ctx, insertStockSQL, m.SKU, m.Warehouse, m.Bin, dOn, dRes).
			Scan(&e.OnHandAfter, &e.ReservedAfter)
	}
	if errors.Is(err, sql.ErrNoRows) || isCode(err, sqlite3.SQLITE_CONSTRAINT_CHECK) ||
		isCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return nil, t.refused(ctx, m)
	}
	if err != nil {
		return nil, mapErr(err, "move stock")
	}
	err = t.tx.QueryRowContext(ctx, insertLedgerSQL+` RETURNING id`,
		e.SKU, e.Warehouse, e.Bin, string(e.Kind), e.OnHandDelta, e.ReservedDelta, e.OnHandAfter,
		e.ReservedAfter, e.Cause, e.Actor, formatTime(e.At)).Scan(&e.ID)
	if err != nil {
		return nil, mapErr(err, "stock ledger")
	}
	return &e, nil
}

// MoveStocks applies movements in order, each as MoveStock does, with the
// guarded update and the ledger insert prepared once for all of them (a
// movement into a bin without a stock row goes through MoveStock). It
// stops at the first that fails.
func (t *txn) MoveStocks(ctx context.Context, ms []fulfill.StockMovement) error {
	if err := t.writable("move stock"); err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	upd, err := t.tx.PrepareContext(ctx, updateStockSQL)
	if err != nil {
		return mapErr(err, "move stock")
	}
	defer func() { _ = upd.Close() }()
	led, err := t.tx.PrepareContext(ctx, insertLedgerSQL)
	if err != nil {
		return mapErr(err, "move stock")
	}
	defer func() { _ = led.Close() }()
	for _, m := range ms {
		if !m.Kind.Valid() {
			return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown movement kind %q", m.Kind)
		}
		dOn, dRes := m.OnHandDelta, m.ReservedDelta
		var onHand, reserved int64
		err := upd.QueryRowContext(ctx, dOn, dRes, m.SKU, m.Warehouse, m.Bin, dOn, dRes, dRes).Scan(&onHand, &reserved)
		if errors.Is(err, sql.ErrNoRows) { // no row yet, or refused: MoveStock tells which
			if _, err := t.MoveStock(ctx, m); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return mapErr(err, "move stock")
		}
		_, err = led.ExecContext(ctx, m.SKU, m.Warehouse, m.Bin, string(m.Kind), dOn, dRes, onHand, reserved,
			m.Cause, m.Actor, formatTime(orNow(m.At)))
		if err != nil {
			return mapErr(err, "stock ledger")
		}
	}
	return nil
}

// refused explains a movement the guarded statement did not apply:
// ENotFound naming what is missing, else EInsufficient.
func (t *txn) refused(ctx context.Context, m fulfill.StockMovement) error {
	var sku, wh, bin bool
	err := t.tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM products WHERE sku = ?),
		EXISTS (SELECT 1 FROM warehouses WHERE code = ?),
		EXISTS (SELECT 1 FROM bins WHERE warehouse = ? AND code = ?)`,
		m.SKU, m.Warehouse, m.Warehouse, m.Bin).Scan(&sku, &wh, &bin)
	switch {
	case err != nil:
		return mapErr(err, "move stock")
	case !sku:
		return fulfill.FieldErrorf(fulfill.ENotFound, "sku", "product %s not found", m.SKU)
	case !wh:
		return fulfill.FieldErrorf(fulfill.ENotFound, "warehouse", "warehouse %s not found", m.Warehouse)
	case !bin:
		return fulfill.FieldErrorf(fulfill.ENotFound, "bin", "bin %s not found in warehouse %s", m.Bin, m.Warehouse)
	}
	return fulfill.Errorf(fulfill.EInsufficient,
		"not enough stock of %s in %s/%s for this %s", m.SKU, m.Warehouse, m.Bin, m.Kind)
}

// stockWhere builds the filter of a bin_stock query aliased s.
func stockWhere(f fulfill.StockFilter) (string, []any) {
	where, args := ` WHERE 1 = 1`, []any{}
	if f.SKU != "" {
		where += ` AND s.sku = ?`
		args = append(args, f.SKU)
	}
	if f.Warehouse != "" {
		where += ` AND s.warehouse = ?`
		args = append(args, f.Warehouse)
	}
	if len(f.SKUs) > 0 {
		// One statement (and one cached plan) for any number of SKUs.
		where += ` AND s.sku IN (SELECT value FROM json_each(?))`
		args = append(args, jsonArray(f.SKUs))
	}
	return where, args
}

// jsonArray encodes strings as a JSON array (for json_each).
func jsonArray(ss []string) string {
	b, err := json.Marshal(ss)
	if err != nil {
		panic(err) // a []string always marshals
	}
	return string(b)
}

// StockLevels sums bin stock per SKU and warehouse.
func (t *txn) StockLevels(ctx context.Context, f fulfill.StockFilter) ([]fulfill.StockLevel, error) {
	where, args := stockWhere(f)
	q := `SELECT s.sku, s.warehouse, SUM(s.on_hand), SUM(s.reserved) FROM bin_stock s` + where +
		` GROUP BY s.sku, s.warehouse ORDER BY s.sku, s.warehouse`
	return list(ctx, t.tx, q, args, "stock levels", func(s scanner) (*fulfill.StockLevel, error) {
		var l fulfill.StockLevel
		err := s.Scan(&l.SKU, &l.Warehouse, &l.OnHand, &l.Reserved)
		l.Available = l.OnHand - l.Reserved
		return &l, err
	})
}

// BinStocks lists per-bin stock by SKU, warehouse and walking order.
func (t *txn) BinStocks(ctx context.Context, f fulfill.StockFilter) ([]fulfill.BinStock, error) {
	where, args := stockWhere(f)
	q := `SELECT s.sku, s.warehouse, s.bin, s.on_hand, s.reserved FROM bin_stock s
		JOIN bins b ON b.warehouse = s.warehouse AND b.code = s.bin` + where +
		` ORDER BY s.sku, s.warehouse, b.pick_seq, s.bin`
	return list(ctx, t.tx, q, args, "bin stock", func(s scanner) (*fulfill.BinStock, error) {
		var b fulfill.BinStock
		err := s.Scan(&b.SKU, &b.Warehouse, &b.Bin, &b.OnHand, &b.Reserved)
		b.Available = b.OnHand - b.Reserved
		return &b, err
	})
}

// Ledger lists ledger rows in id order after f.AfterID.
func (t *txn) Ledger(ctx context.Context, f fulfill.LedgerFilter) ([]fulfill.LedgerEntry, error) {
	q := `SELECT id, sku, warehouse, bin, kind, on_hand_delta, reserved_delta, on_hand_after,
		reserved_after, cause, actor, at FROM stock_ledger WHERE id > ?`
	args := []any{f.AfterID}
	if f.SKU != "" {
		q += ` AND sku = ?`
		args = append(args, f.SKU)
	}
	if f.Warehouse != "" {
		q += ` AND warehouse = ?`
		args = append(args, f.Warehouse)
	}
	q += ` ORDER BY id LIMIT ?`
	return list(ctx, t.tx, q, append(args, limit(f.Limit)), "ledger", func(s scanner) (*fulfill.LedgerEntry, error) {
		var e fulfill.LedgerEntry
		var kind string
		err := s.Scan(&e.ID, &e.SKU, &e.Warehouse, &e.Bin, &kind, &e.OnHandDelta, &e.ReservedDelta,
			&e.OnHandAfter, &e.ReservedAfter, &e.Cause, &e.Actor, timeCol{&e.At})
		e.Kind = fulfill.MovementKind(kind)
		return &e, err
	})
}
