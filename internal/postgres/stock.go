package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

// ensureBinStock creates the SKU's zero row in the bin when the SKU and the
// bin exist, the row does not, and the movement ($4 on hand, $5 reserved)
// would be allowed on a zero row, so that a refused movement leaves no
// empty row behind. INSERT … SELECT instead of letting the foreign keys
// fail, so that a missing SKU or bin leaves the transaction usable (see
// tx); ON CONFLICT DO NOTHING makes a concurrent first receipt wait for the
// other insert and then find its row.
const ensureBinStock = `INSERT INTO bin_stock (sku, warehouse, bin, on_hand, reserved)
	SELECT p.sku, b.warehouse, b.code, 0, 0
	FROM products p, bins b
	WHERE p.sku = $1 AND b.warehouse = $2 AND b.code = $3
		AND $4::bigint >= $5::bigint AND $5::bigint >= 0
	ON CONFLICT DO NOTHING`

// moveAndLog is the guarded change and its ledger row in one statement.
// The WHERE clause is the whole invariant, checked against the row as it is
// now (read committed re-reads a row updated concurrently), so there is no
// read-then-write race: zero rows means nothing moved.
const moveAndLog = `WITH moved AS (
		UPDATE bin_stock SET on_hand = on_hand + $4, reserved = reserved + $5
		WHERE sku = $1 AND warehouse = $2 AND bin = $3
			AND on_hand + $4 >= reserved + $5 AND reserved + $5 >= 0
		RETURNING on_hand, reserved
	)
	INSERT INTO stock_ledger (sku, warehouse, bin, kind, on_hand_delta, reserved_delta,
		on_hand_after, reserved_after, cause, actor, at)
	SELECT $1, $2, $3, $6, $4, $5, on_hand, reserved, $7, $8, $9 FROM moved
	RETURNING id, on_hand_after, reserved_after`

// MoveStock applies one guarded movement and appends its ledger row.
// ENotFound for an unknown SKU, warehouse or bin; EInsufficient when the
// result would break 0 <= reserved <= on hand; EInvalid for an unknown kind.
func (t *tx) MoveStock(ctx context.Context, m fulfill.StockMovement) (*fulfill.LedgerEntry, error) {
	if !m.Kind.Valid() {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown stock movement kind %q", m.Kind)
	}
	e := &fulfill.LedgerEntry{SKU: m.SKU, Warehouse: m.Warehouse, Bin: m.Bin, Kind: m.Kind,
		OnHandDelta: m.OnHandDelta, ReservedDelta: m.ReservedDelta, Cause: m.Cause, Actor: m.Actor, At: stamp(m.At)}
	// Both statements go in one round trip.
	b := &pgx.Batch{}
	b.Queue(ensureBinStock, m.SKU, m.Warehouse, m.Bin, m.OnHandDelta, m.ReservedDelta)
	b.Queue(moveAndLog, m.SKU, m.Warehouse, m.Bin, m.OnHandDelta, m.ReservedDelta,
		string(m.Kind), m.Cause, m.Actor, e.At).QueryRow(func(row pgx.Row) error {
		return row.Scan(&e.ID, &e.OnHandAfter, &e.ReservedAfter)
	})
	err := t.tx.SendBatch(ctx, b).Close()
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, t.whyNotMoved(ctx, m)
	}
	if err != nil {
		return nil, mapErr(err, "move stock")
	}
	return e, nil
}

// MoveStocks applies movements in order, each as MoveStock's two
// statements, all in one round trip. A refused movement raises nothing (the
// transaction stays usable) and is explained after the batch; the ones
// queued after it have run, so the caller rolls back.
func (t *tx) MoveStocks(ctx context.Context, ms []fulfill.StockMovement) error {
	if len(ms) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	failed := -1
	for i, m := range ms {
		if !m.Kind.Valid() {
			return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown stock movement kind %q", m.Kind)
		}
		if m.OnHandDelta >= m.ReservedDelta && m.ReservedDelta >= 0 {
			// Only then can ensureBinStock insert a row (its own guard): a
			// reservation (reserved up, on hand unchanged) skips it.
			b.Queue(ensureBinStock, m.SKU, m.Warehouse, m.Bin, m.OnHandDelta, m.ReservedDelta)
		}
		b.Queue(moveAndLog, m.SKU, m.Warehouse, m.Bin, m.OnHandDelta, m.ReservedDelta,
			string(m.Kind), m.Cause, m.Actor, stamp(m.At)).Query(func(rows pgx.Rows) error {
			n := 0
			for rows.Next() {
				n++
			}
			if n == 0 && rows.Err() == nil && failed < 0 {
				failed = i
			}
			return rows.Err()
		})
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return mapErr(err, "move stock")
	}
	if failed >= 0 {
		return t.whyNotMoved(ctx, ms[failed])
	}
	return nil
}

// whyNotMoved explains a guarded update that changed nothing: something is
// missing, or there is not enough stock.
func (t *tx) whyNotMoved(ctx context.Context, m fulfill.StockMovement) error {
	var sku, wh, bin bool
	err := t.tx.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM products WHERE sku = $1),
		EXISTS (SELECT 1 FROM warehouses WHERE code = $2),
		EXISTS (SELECT 1 FROM bins WHERE warehouse = $2 AND code = $3)`,
		m.SKU, m.Warehouse, m.Bin).Scan(&sku, &wh, &bin)
	switch {
	case err != nil:
		return mapErr(err, "move stock")
	case !sku:
		return productNotFound(m.SKU)
	case !wh:
		return warehouseNotFound("warehouse", m.Warehouse)
	case !bin:
		return binNotFound(m.Warehouse, m.Bin)
	}
	return fulfill.Errorf(fulfill.EInsufficient,
		"not enough stock of %q in bin %s/%s for %s (on hand %+d, reserved %+d)",
		m.SKU, m.Warehouse, m.Bin, m.Kind, m.OnHandDelta, m.ReservedDelta)
}

func stockWhere(f fulfill.StockFilter, prefix string) *where {
	w := &where{}
	if f.SKU != "" {
		w.add(prefix+"sku = ?", f.SKU)
	}
	if f.Warehouse != "" {
		w.add(prefix+"warehouse = ?", f.Warehouse)
	}
	return w
}

// StockLevels sums bin stock per SKU and warehouse, by SKU then warehouse.
func (t *tx) StockLevels(ctx context.Context, f fulfill.StockFilter) ([]fulfill.StockLevel, error) {
	w := stockWhere(f, "")
	// sum(bigint) is numeric in PostgreSQL (SQLite's sum is an integer):
	// cast back so that it scans into int64.
	rows, _ := t.tx.Query(ctx, `SELECT sku, warehouse, sum(on_hand)::bigint, sum(reserved)::bigint
		FROM bin_stock`+w.sql()+` GROUP BY sku, warehouse ORDER BY sku, warehouse`, w.args...)
	ls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.StockLevel, error) {
		var l fulfill.StockLevel
		err := row.Scan(&l.SKU, &l.Warehouse, &l.OnHand, &l.Reserved)
		l.Available = l.OnHand - l.Reserved
		return l, err
	})
	if err != nil {
		return nil, mapErr(err, "stock levels")
	}
	return ls, nil
}

// BinStocks lists per-bin stock by SKU, warehouse and walking order.
func (t *tx) BinStocks(ctx context.Context, f fulfill.StockFilter) ([]fulfill.BinStock, error) {
	w := stockWhere(f, "s.")
	rows, _ := t.tx.Query(ctx, `SELECT s.sku, s.warehouse, s.bin, s.on_hand, s.reserved
		FROM bin_stock s JOIN bins b ON b.warehouse = s.warehouse AND b.code = s.bin`+w.sql()+`
		ORDER BY s.sku, s.warehouse, b.pick_seq, s.bin`, w.args...)
	bs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.BinStock, error) {
		var b fulfill.BinStock
		err := row.Scan(&b.SKU, &b.Warehouse, &b.Bin, &b.OnHand, &b.Reserved)
		b.Available = b.OnHand - b.Reserved
		return b, err
	})
	if err != nil {
		return nil, mapErr(err, "bin stocks")
	}
	return bs, nil
}

// Ledger lists ledger rows in id order after f.AfterID.
func (t *tx) Ledger(ctx context.Context, f fulfill.LedgerFilter) ([]fulfill.LedgerEntry, error) {
	w := stockWhere(fulfill.StockFilter{SKU: f.SKU, Warehouse: f.Warehouse}, "")
	if f.AfterID > 0 {
		w.add("id > ?", f.AfterID)
	}
	q := `SELECT id, sku, warehouse, bin, kind, on_hand_delta, reserved_delta, on_hand_after,
		reserved_after, cause, actor, at FROM stock_ledger` + w.sql() + ` ORDER BY id` + w.limit(pageLimit(f.Limit))
	rows, _ := t.tx.Query(ctx, q, w.args...)
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.LedgerEntry, error) {
		var e fulfill.LedgerEntry
		err := row.Scan(&e.ID, &e.SKU, &e.Warehouse, &e.Bin, &e.Kind, &e.OnHandDelta, &e.ReservedDelta,
			&e.OnHandAfter, &e.ReservedAfter, &e.Cause, &e.Actor, &e.At)
		utc(&e.At)
		return e, err
	})
	if err != nil {
		return nil, mapErr(err, "ledger")
	}
	return es, nil
}
