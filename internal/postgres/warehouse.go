package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const warehouseCols = `code, name, addr_name, line1, line2, city, region, postal_code, country,
	addr_lat, addr_lon, latitude, longitude, cutoff_time, time_zone, active, created_at, updated_at`

func scanWarehouse(row pgx.CollectableRow) (fulfill.Warehouse, error) {
	var w fulfill.Warehouse
	a := &w.Address
	err := row.Scan(&w.Code, &w.Name, &a.Name, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode, &a.Country,
		&a.Lat, &a.Lon, &w.Latitude, &w.Longitude, &w.CutoffTime, &w.TimeZone, &w.Active, &w.CreatedAt, &w.UpdatedAt)
	utc(&w.CreatedAt)
	utc(&w.UpdatedAt)
	return w, err
}

// warehouseArgs lists w's columns after the code, in warehouseCols order.
func warehouseArgs(w *fulfill.Warehouse) []any {
	a := w.Address
	return []any{w.Name, a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country,
		a.Lat, a.Lon, w.Latitude, w.Longitude, w.CutoffTime, w.TimeZone, w.Active}
}

// CreateWarehouse inserts w. EAlreadyExists.
func (t *tx) CreateWarehouse(ctx context.Context, w *fulfill.Warehouse) error {
	w.CreatedAt, w.UpdatedAt = stamp(w.CreatedAt), stamp(w.UpdatedAt)
	args := append(append([]any{w.Code}, warehouseArgs(w)...), w.CreatedAt, w.UpdatedAt)
	tag, err := t.tx.Exec(ctx, `INSERT INTO warehouses (`+warehouseCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return mapErr(err, "create warehouse")
	}
	if tag.RowsAffected() == 0 {
		return fulfill.FieldErrorf(fulfill.EAlreadyExists, "code", "a warehouse with code %q already exists", w.Code)
	}
	return nil
}

// UpdateWarehouse replaces the warehouse w.Code (all but created_at).
// ENotFound.
func (t *tx) UpdateWarehouse(ctx context.Context, w *fulfill.Warehouse) error {
	w.UpdatedAt = stamp(w.UpdatedAt)
	args := append(append([]any{w.Code}, warehouseArgs(w)...), w.UpdatedAt)
	var created time.Time
	err := t.tx.QueryRow(ctx, `UPDATE warehouses SET name = $2, addr_name = $3, line1 = $4, line2 = $5,
			city = $6, region = $7, postal_code = $8, country = $9, addr_lat = $10, addr_lon = $11,
			latitude = $12, longitude = $13, cutoff_time = $14, time_zone = $15, active = $16,
			updated_at = $17
		WHERE code = $1 RETURNING created_at`, args...).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return warehouseNotFound("code", w.Code)
	}
	if err != nil {
		return mapErr(err, "update warehouse")
	}
	w.CreatedAt = created.UTC()
	return nil
}

func warehouseNotFound(field, code string) error {
	return fulfill.FieldErrorf(fulfill.ENotFound, field, "warehouse %q not found", code)
}

// GetWarehouse returns one warehouse. ENotFound.
func (t *tx) GetWarehouse(ctx context.Context, code string) (*fulfill.Warehouse, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+warehouseCols+` FROM warehouses WHERE code = $1`, code)
	w, err := pgx.CollectExactlyOneRow(rows, scanWarehouse)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, warehouseNotFound("code", code)
	}
	if err != nil {
		return nil, mapErr(err, "get warehouse")
	}
	return &w, nil
}

// ListWarehouses returns warehouses in code order after page.After.
func (t *tx) ListWarehouses(ctx context.Context, page fulfill.Page, active *bool) ([]fulfill.Warehouse, error) {
	var w where
	if page.After != "" {
		w.add("code > ?", page.After)
	}
	if active != nil {
		w.add("active = ?", *active)
	}
	q := `SELECT ` + warehouseCols + ` FROM warehouses` + w.sql() + ` ORDER BY code` + w.limit(pageLimit(page.Limit))
	rows, _ := t.tx.Query(ctx, q, w.args...)
	ws, err := pgx.CollectRows(rows, scanWarehouse)
	if err != nil {
		return nil, mapErr(err, "list warehouses")
	}
	return ws, nil
}

const binCols = `warehouse, code, zone, aisle, rack, shelf, position, pick_seq, active, created_at, updated_at`

func scanBin(row pgx.CollectableRow) (fulfill.Bin, error) {
	var b fulfill.Bin
	err := row.Scan(&b.Warehouse, &b.Code, &b.Zone, &b.Aisle, &b.Rack, &b.Shelf, &b.Position,
		&b.PickSeq, &b.Active, &b.CreatedAt, &b.UpdatedAt)
	utc(&b.CreatedAt)
	utc(&b.UpdatedAt)
	return b, err
}

// CreateBin inserts b. ENotFound when the warehouse does not exist;
// EAlreadyExists when the code is taken there.
func (t *tx) CreateBin(ctx context.Context, b *fulfill.Bin) error {
	b.CreatedAt, b.UpdatedAt = stamp(b.CreatedAt), stamp(b.UpdatedAt)
	// INSERT … SELECT … WHERE EXISTS and ON CONFLICT DO NOTHING instead of
	// letting the foreign key or the primary key fail (see tx).
	tag, err := t.tx.Exec(ctx, `INSERT INTO bins (`+binCols+`)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::bigint,
			$9::boolean, $10::timestamptz, $11::timestamptz
		WHERE EXISTS (SELECT 1 FROM warehouses WHERE code = $1)
		ON CONFLICT DO NOTHING`,
		b.Warehouse, b.Code, b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position, b.PickSeq, b.Active,
		b.CreatedAt, b.UpdatedAt)
	if err != nil {
		return mapErr(err, "create bin")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	found, err := t.exists(ctx, `SELECT 1 FROM warehouses WHERE code = $1`, b.Warehouse)
	if err != nil {
		return err
	}
	if !found {
		return warehouseNotFound("warehouse", b.Warehouse)
	}
	return fulfill.FieldErrorf(fulfill.EAlreadyExists, "code", "bin %q already exists in warehouse %q", b.Code, b.Warehouse)
}

// UpdateBin replaces the bin (b.Warehouse, b.Code), all but created_at.
// ENotFound.
func (t *tx) UpdateBin(ctx context.Context, b *fulfill.Bin) error {
	b.UpdatedAt = stamp(b.UpdatedAt)
	var created time.Time
	err := t.tx.QueryRow(ctx, `UPDATE bins SET zone = $3, aisle = $4, rack = $5, shelf = $6,
			position = $7, pick_seq = $8, active = $9, updated_at = $10
		WHERE warehouse = $1 AND code = $2 RETURNING created_at`,
		b.Warehouse, b.Code, b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position, b.PickSeq, b.Active,
		b.UpdatedAt).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return binNotFound(b.Warehouse, b.Code)
	}
	if err != nil {
		return mapErr(err, "update bin")
	}
	b.CreatedAt = created.UTC()
	return nil
}

func binNotFound(warehouse, code string) error {
	return fulfill.FieldErrorf(fulfill.ENotFound, "bin", "bin %q not found in warehouse %q", code, warehouse)
}

// GetBin returns one bin. ENotFound.
func (t *tx) GetBin(ctx context.Context, warehouse, code string) (*fulfill.Bin, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+binCols+` FROM bins WHERE warehouse = $1 AND code = $2`, warehouse, code)
	b, err := pgx.CollectExactlyOneRow(rows, scanBin)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, binNotFound(warehouse, code)
	}
	if err != nil {
		return nil, mapErr(err, "get bin")
	}
	return &b, nil
}

// InactiveBins returns every inactive bin by warehouse and code.
func (t *tx) InactiveBins(ctx context.Context) ([]fulfill.Bin, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+binCols+` FROM bins WHERE NOT active ORDER BY warehouse, code`)
	bs, err := pgx.CollectRows(rows, scanBin)
	if err != nil {
		return nil, mapErr(err, "inactive bins")
	}
	return bs, nil
}

// ListBins returns a warehouse's bins in walking order (pick sequence,
// then code), after the bin page.After. ENotFound for an unknown warehouse.
func (t *tx) ListBins(ctx context.Context, warehouse string, page fulfill.Page) ([]fulfill.Bin, error) {
	var w where
	w.add("warehouse = ?", warehouse)
	if page.After != "" {
		// The cursor is a code, but the order is (pick_seq, code): resume
		// after that bin's position with a row comparison.
		w.add(`(pick_seq, code) > (SELECT pick_seq, code FROM bins WHERE warehouse = $1 AND code = ?)`, page.After)
	}
	q := `SELECT ` + binCols + ` FROM bins` + w.sql() + ` ORDER BY pick_seq, code` + w.limit(pageLimit(page.Limit))
	rows, _ := t.tx.Query(ctx, q, w.args...)
	bs, err := pgx.CollectRows(rows, scanBin)
	if err != nil {
		return nil, mapErr(err, "list bins")
	}
	if len(bs) > 0 {
		return bs, nil
	}
	found, err := t.exists(ctx, `SELECT 1 FROM warehouses WHERE code = $1`, warehouse)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, warehouseNotFound("warehouse", warehouse)
	}
	return bs, nil
}
