package postgres

import (
	"context"
	"errors"
	"time"

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

// MoveStocks applies movements in order, with their ledger rows, in one
// round trip. EInvalid for an unknown kind (before anything moves);
// otherwise the error of the first movement that MoveStock would refuse.
//
// When, in every bin the movements touch, each of the two guarded figures
// (on hand - reserved, and reserved) only moves one way, the guards of the
// movements one by one all pass exactly when the guard of their sum does,
// so they are applied set-wise (moveStocksSet): one guarded UPDATE per bin
// instead of one per movement. A bin hit by the payment stage's many
// reservations is then updated once, not once per order. Otherwise (say a
// receipt and a pick of one bin) each movement is its own statement
// (moveStocksOneByOne).
func (t *tx) MoveStocks(ctx context.Context, ms []fulfill.StockMovement) error {
	if len(ms) == 0 {
		return nil
	}
	for _, m := range ms {
		if !m.Kind.Valid() {
			return fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown stock movement kind %q", m.Kind)
		}
	}
	if !oneWayPerBin(ms) {
		return t.moveStocksOneByOne(ctx, ms)
	}
	return t.moveStocksSet(ctx, ms)
}

// binKey addresses one SKU's stock row in one bin.
type binKey struct{ sku, wh, bin string }

// oneWayPerBin reports whether, per bin, no two movements push on hand -
// reserved, or reserved, in opposite directions. From a state that holds
// the invariant (the bin_stock_guard CHECK, or a fresh zero row), each
// figure's running value is then monotonic, so its lowest point is the
// start or the end, and checking the sum is checking every step.
func oneWayPerBin(ms []fulfill.StockMovement) bool {
	const up, down = 1, 2
	dirs := make(map[binKey][2]int, len(ms))
	for _, m := range ms {
		k := binKey{m.SKU, m.Warehouse, m.Bin}
		d := dirs[k]
		for i, delta := range [2]int64{m.OnHandDelta - m.ReservedDelta, m.ReservedDelta} {
			switch {
			case delta > 0:
				d[i] |= up
			case delta < 0:
				d[i] |= down
			}
			if d[i] == up|down {
				return false
			}
		}
		dirs[k] = d
	}
	return true
}

// moveStocksGrouped sums the movements per bin and applies each sum as one
// guarded UPDATE (read committed re-checks the guard against a row another
// transaction changed meanwhile, as moveAndLog's does), then appends one
// ledger row per movement, in input order (so ids follow it), with the
// figures after it: the bin's figures before the update plus the running
// sum of its movements up to this one. A bin whose guard fails is not
// updated and gets no ledger rows; the statement returns the bins it
// updated.
const moveStocksGrouped = `WITH x AS MATERIALIZED (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
			$6::text[], $7::text[], $8::text[], $9::timestamptz[])
			WITH ORDINALITY AS x(sku, wh, bin, doh, dr, kind, cause, actor, at, n)
	), g AS (
		SELECT sku, wh, bin, sum(doh)::bigint AS doh, sum(dr)::bigint AS dr FROM x GROUP BY sku, wh, bin
	), moved AS (
		UPDATE bin_stock s SET on_hand = s.on_hand + g.doh, reserved = s.reserved + g.dr
		FROM g
		WHERE s.sku = g.sku AND s.warehouse = g.wh AND s.bin = g.bin
			AND s.on_hand + g.doh >= s.reserved + g.dr AND s.reserved + g.dr >= 0
		RETURNING s.sku, s.warehouse, s.bin, s.on_hand - g.doh AS oh0, s.reserved - g.dr AS r0
	), ledger AS (
		INSERT INTO stock_ledger (sku, warehouse, bin, kind, on_hand_delta, reserved_delta,
			on_hand_after, reserved_after, cause, actor, at)
		SELECT x.sku, x.wh, x.bin, x.kind, x.doh, x.dr,
			m.oh0 + sum(x.doh) OVER w, m.r0 + sum(x.dr) OVER w, x.cause, x.actor, x.at
		FROM x JOIN moved m ON m.sku = x.sku AND m.warehouse = x.wh AND m.bin = x.bin
		WINDOW w AS (PARTITION BY x.sku, x.wh, x.bin ORDER BY x.n)
		ORDER BY x.n
	)
	SELECT sku, warehouse, bin FROM moved`

// ensureBinStocks is ensureBinStock for many movements at once (the arrays
// hold only those a zero row would allow). A separate statement: the
// UPDATE of moveStocksGrouped would not see rows inserted in its own
// statement.
const ensureBinStocks = `INSERT INTO bin_stock (sku, warehouse, bin, on_hand, reserved)
	SELECT DISTINCT p.sku, b.warehouse, b.code, 0::bigint, 0::bigint
	FROM unnest($1::text[], $2::text[], $3::text[]) AS x(sku, wh, bin)
	JOIN products p ON p.sku = x.sku JOIN bins b ON b.warehouse = x.wh AND b.code = x.bin
	ON CONFLICT DO NOTHING`

// moveStocksSet applies movements that pass oneWayPerBin in one round trip:
// ensureBinStocks when any could create its row, then moveStocksGrouped.
// A refused bin is explained afterwards (firstRefused).
func (t *tx) moveStocksSet(ctx context.Context, ms []fulfill.StockMovement) error {
	n := len(ms)
	sku, wh, bin, kind := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cause, actor := make([]string, n), make([]string, n)
	doh, dr, at := make([]int64, n), make([]int64, n), make([]time.Time, n)
	var eSKU, eWh, eBin []string
	bins := make(map[binKey]bool, n)
	for i, m := range ms {
		sku[i], wh[i], bin[i], kind[i] = m.SKU, m.Warehouse, m.Bin, string(m.Kind)
		cause[i], actor[i], doh[i], dr[i], at[i] = m.Cause, m.Actor, m.OnHandDelta, m.ReservedDelta, stamp(m.At)
		if allowedOnZero(m) {
			// Only then can ensureBinStock insert a row (its own guard): a
			// reservation (reserved up, on hand unchanged) skips it.
			eSKU, eWh, eBin = append(eSKU, m.SKU), append(eWh, m.Warehouse), append(eBin, m.Bin)
		}
		bins[binKey{m.SKU, m.Warehouse, m.Bin}] = true
	}
	b := &pgx.Batch{}
	if len(eSKU) > 0 {
		b.Queue(ensureBinStocks, eSKU, eWh, eBin)
	}
	moved := make(map[binKey]bool, len(bins))
	b.Queue(moveStocksGrouped, sku, wh, bin, doh, dr, kind, cause, actor, at).Query(func(rows pgx.Rows) error {
		var k binKey
		_, err := pgx.ForEachRow(rows, []any{&k.sku, &k.wh, &k.bin}, func() error {
			moved[k] = true
			return nil
		})
		return err
	})
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return mapErr(err, "move stock")
	}
	if len(moved) == len(bins) {
		return nil
	}
	i, err := t.firstRefused(ctx, ms, moved)
	if err != nil {
		return err
	}
	return t.whyNotMoved(ctx, ms[i])
}

// allowedOnZero reports whether m would pass the guard on a zero row.
func allowedOnZero(m fulfill.StockMovement) bool {
	return m.OnHandDelta >= m.ReservedDelta && m.ReservedDelta >= 0
}

// firstRefused returns the index of the first movement that, applied one
// by one, would have been refused: the bins not in moved were left as
// they were, so their rows are read and their movements replayed in order.
// A bin without a row refuses its first movement (none could create it).
// Should the rows have changed since (another transaction), the first
// movement of a refused bin is blamed.
func (t *tx) firstRefused(ctx context.Context, ms []fulfill.StockMovement, moved map[binKey]bool) (int, error) {
	var sku, wh, bin []string
	first := map[binKey]int{}
	for i, m := range ms {
		k := binKey{m.SKU, m.Warehouse, m.Bin}
		if _, ok := first[k]; !ok && !moved[k] {
			first[k] = i
			sku, wh, bin = append(sku, k.sku), append(wh, k.wh), append(bin, k.bin)
		}
	}
	type figures struct{ onHand, reserved int64 }
	state := map[binKey]*figures{}
	rows, _ := t.tx.Query(ctx, `SELECT s.sku, s.warehouse, s.bin, s.on_hand, s.reserved
		FROM bin_stock s JOIN unnest($1::text[], $2::text[], $3::text[]) AS x(sku, wh, bin)
			ON s.sku = x.sku AND s.warehouse = x.wh AND s.bin = x.bin`, sku, wh, bin)
	var k binKey
	var f figures
	if _, err := pgx.ForEachRow(rows, []any{&k.sku, &k.wh, &k.bin, &f.onHand, &f.reserved}, func() error {
		state[k] = &figures{f.onHand, f.reserved}
		return nil
	}); err != nil {
		return 0, mapErr(err, "move stock")
	}
	for i, m := range ms {
		k := binKey{m.SKU, m.Warehouse, m.Bin}
		if _, refused := first[k]; !refused {
			continue
		}
		s := state[k]
		if s == nil || s.onHand+m.OnHandDelta < s.reserved+m.ReservedDelta || s.reserved+m.ReservedDelta < 0 {
			return i, nil
		}
		s.onHand, s.reserved = s.onHand+m.OnHandDelta, s.reserved+m.ReservedDelta
	}
	i := len(ms)
	for _, j := range first {
		i = min(i, j)
	}
	return i, nil
}

// moveStocksOneByOne applies movements in order, each as MoveStock's two
// statements, all in one round trip. A refused movement raises nothing (the
// transaction stays usable) and is explained after the batch; the ones
// queued after it have run, so the caller rolls back.
func (t *tx) moveStocksOneByOne(ctx context.Context, ms []fulfill.StockMovement) error {
	b := &pgx.Batch{}
	failed := -1
	for i, m := range ms {
		if allowedOnZero(m) {
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
	if len(f.SKUs) > 0 {
		w.add(prefix+"sku = ANY(?)", f.SKUs)
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
