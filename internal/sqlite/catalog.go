package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// txn implements fulfill.Tx on one *sql.Tx.
type txn struct {
	tx       *sql.Tx
	q        *queue.Queue[*sql.Tx]
	s        *Store
	readOnly bool
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// writable refuses writes inside View with a clear error (query_only would
// refuse them too, less legibly).
func (t *txn) writable(what string) error {
	if t.readOnly {
		return fulfill.Errorf(fulfill.EInternal, "%s: write in a read-only transaction", what)
	}
	return nil
}

// affected maps zero affected rows to ENotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return mapErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err, what)
	}
	if n == 0 {
		return fulfill.Errorf(fulfill.ENotFound, "%s not found", what)
	}
	return nil
}

const productCols = `sku, name, barcode, price_amount, price_currency, weight_grams,
	length_mm, width_mm, height_mm, active, out_of_stock_policy, created_at, updated_at`

func scanProduct(s scanner) (*fulfill.Product, error) {
	var p fulfill.Product
	d := &p.DimensionsMM
	err := s.Scan(&p.SKU, &p.Name, &p.Barcode, &p.Price.Amount, &p.Price.Currency, &p.WeightGrams,
		&d.Length, &d.Width, &d.Height, &p.Active, &p.OutOfStockPolicy, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	return &p, err
}

// CreateProduct inserts p. EAlreadyExists for a taken SKU or barcode.
func (t *txn) CreateProduct(ctx context.Context, p *fulfill.Product) error {
	if err := t.writable("create product"); err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = orNow(p.CreatedAt), orNow(p.UpdatedAt)
	d := p.DimensionsMM
	_, err := t.tx.ExecContext(ctx, `INSERT INTO products (`+productCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.SKU, p.Name, p.Barcode, p.Price.Amount, p.Price.Currency, p.WeightGrams,
		d.Length, d.Width, d.Height, p.Active, string(p.OutOfStockPolicy), formatTime(p.CreatedAt), formatTime(p.UpdatedAt))
	return mapErr(err, "product")
}

// UpdateProduct replaces the product p.SKU (its created_at is kept and
// copied into p). ENotFound; EAlreadyExists for a taken barcode.
func (t *txn) UpdateProduct(ctx context.Context, p *fulfill.Product) error {
	if err := t.writable("update product"); err != nil {
		return err
	}
	p.UpdatedAt = orNow(p.UpdatedAt)
	d := p.DimensionsMM
	err := t.tx.QueryRowContext(ctx, `UPDATE products SET name = ?, barcode = ?, price_amount = ?,
		price_currency = ?, weight_grams = ?, length_mm = ?, width_mm = ?, height_mm = ?, active = ?,
		out_of_stock_policy = ?, updated_at = ? WHERE sku = ? RETURNING created_at`,
		p.Name, p.Barcode, p.Price.Amount, p.Price.Currency, p.WeightGrams, d.Length, d.Width, d.Height,
		p.Active, string(p.OutOfStockPolicy), formatTime(p.UpdatedAt), p.SKU).Scan(timeCol{&p.CreatedAt})
	return mapErr(err, "product")
}

// GetProduct returns one product. ENotFound.
func (t *txn) GetProduct(ctx context.Context, sku string) (*fulfill.Product, error) {
	p, err := scanProduct(t.tx.QueryRowContext(ctx, `SELECT `+productCols+` FROM products WHERE sku = ?`, sku))
	if err != nil {
		return nil, mapErr(err, "product")
	}
	return p, nil
}

// ListProducts returns products in SKU order after page.After.
func (t *txn) ListProducts(ctx context.Context, page fulfill.Page, active *bool) ([]fulfill.Product, error) {
	q := `SELECT ` + productCols + ` FROM products WHERE sku > ?`
	args := []any{page.After}
	if active != nil {
		q += ` AND active = ?`
		args = append(args, *active)
	}
	q += ` ORDER BY sku LIMIT ?`
	return list(ctx, t.tx, q, append(args, limit(page.Limit)), "products", scanProduct)
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, tx *sql.Tx, q string, args []any, what string, scan func(scanner) (*T, error)) ([]T, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, "list "+what)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err, "list "+what)
		}
		out = append(out, *v)
	}
	return out, mapErr(rows.Err(), "list "+what)
}

const warehouseCols = `code, name, addr_name, line1, line2, city, region, postal_code, country,
	addr_lat, addr_lon, latitude, longitude, cutoff_time, time_zone, active, created_at, updated_at`

func scanWarehouse(s scanner) (*fulfill.Warehouse, error) {
	var w fulfill.Warehouse
	a := &w.Address
	err := s.Scan(&w.Code, &w.Name, &a.Name, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode, &a.Country,
		&a.Lat, &a.Lon, &w.Latitude, &w.Longitude, &w.CutoffTime, &w.TimeZone, &w.Active,
		timeCol{&w.CreatedAt}, timeCol{&w.UpdatedAt})
	return &w, err
}

// CreateWarehouse inserts w. EAlreadyExists.
func (t *txn) CreateWarehouse(ctx context.Context, w *fulfill.Warehouse) error {
	if err := t.writable("create warehouse"); err != nil {
		return err
	}
	w.CreatedAt, w.UpdatedAt = orNow(w.CreatedAt), orNow(w.UpdatedAt)
	a := w.Address
	_, err := t.tx.ExecContext(ctx, `INSERT INTO warehouses (`+warehouseCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.Code, w.Name, a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country,
		a.Lat, a.Lon, w.Latitude, w.Longitude, w.CutoffTime, w.TimeZone, w.Active,
		formatTime(w.CreatedAt), formatTime(w.UpdatedAt))
	return mapErr(err, "warehouse")
}

// UpdateWarehouse replaces the warehouse w.Code. ENotFound.
func (t *txn) UpdateWarehouse(ctx context.Context, w *fulfill.Warehouse) error {
	if err := t.writable("update warehouse"); err != nil {
		return err
	}
	w.UpdatedAt = orNow(w.UpdatedAt)
	a := w.Address
	err := t.tx.QueryRowContext(ctx, `UPDATE warehouses SET name = ?, addr_name = ?, line1 = ?, line2 = ?,
		city = ?, region = ?, postal_code = ?, country = ?, addr_lat = ?, addr_lon = ?, latitude = ?,
		longitude = ?, cutoff_time = ?, time_zone = ?, active = ?, updated_at = ?
		WHERE code = ? RETURNING created_at`,
		w.Name, a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Lat, a.Lon,
		w.Latitude, w.Longitude, w.CutoffTime, w.TimeZone, w.Active, formatTime(w.UpdatedAt), w.Code,
	).Scan(timeCol{&w.CreatedAt})
	return mapErr(err, "warehouse")
}

// GetWarehouse returns one warehouse. ENotFound.
func (t *txn) GetWarehouse(ctx context.Context, code string) (*fulfill.Warehouse, error) {
	w, err := scanWarehouse(t.tx.QueryRowContext(ctx, `SELECT `+warehouseCols+` FROM warehouses WHERE code = ?`, code))
	if err != nil {
		return nil, mapErr(err, "warehouse")
	}
	return w, nil
}

// ListWarehouses returns warehouses in code order after page.After.
func (t *txn) ListWarehouses(ctx context.Context, page fulfill.Page, active *bool) ([]fulfill.Warehouse, error) {
	q := `SELECT ` + warehouseCols + ` FROM warehouses WHERE code > ?`
	args := []any{page.After}
	if active != nil {
		q += ` AND active = ?`
		args = append(args, *active)
	}
	q += ` ORDER BY code LIMIT ?`
	return list(ctx, t.tx, q, append(args, limit(page.Limit)), "warehouses", scanWarehouse)
}

const binCols = `warehouse, code, zone, aisle, rack, shelf, position, pick_seq, active, created_at, updated_at`

func scanBin(s scanner) (*fulfill.Bin, error) {
	var b fulfill.Bin
	err := s.Scan(&b.Warehouse, &b.Code, &b.Zone, &b.Aisle, &b.Rack, &b.Shelf, &b.Position, &b.PickSeq,
		&b.Active, timeCol{&b.CreatedAt}, timeCol{&b.UpdatedAt})
	return &b, err
}

// CreateBin inserts b. ENotFound for an unknown warehouse; EAlreadyExists.
func (t *txn) CreateBin(ctx context.Context, b *fulfill.Bin) error {
	if err := t.writable("create bin"); err != nil {
		return err
	}
	b.CreatedAt, b.UpdatedAt = orNow(b.CreatedAt), orNow(b.UpdatedAt)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO bins (`+binCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.Warehouse, b.Code, b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position, b.PickSeq, b.Active,
		formatTime(b.CreatedAt), formatTime(b.UpdatedAt))
	if fulfill.IsCode(mapErr(err, "bin"), fulfill.ENotFound) {
		return &fulfill.Error{Code: fulfill.ENotFound, Field: "warehouse", Message: "warehouse " + b.Warehouse + " not found", Err: err}
	}
	return mapErr(err, "bin")
}

// UpdateBin replaces the bin (b.Warehouse, b.Code). ENotFound.
func (t *txn) UpdateBin(ctx context.Context, b *fulfill.Bin) error {
	if err := t.writable("update bin"); err != nil {
		return err
	}
	b.UpdatedAt = orNow(b.UpdatedAt)
	err := t.tx.QueryRowContext(ctx, `UPDATE bins SET zone = ?, aisle = ?, rack = ?, shelf = ?, position = ?,
		pick_seq = ?, active = ?, updated_at = ? WHERE warehouse = ? AND code = ? RETURNING created_at`,
		b.Zone, b.Aisle, b.Rack, b.Shelf, b.Position, b.PickSeq, b.Active, formatTime(b.UpdatedAt),
		b.Warehouse, b.Code).Scan(timeCol{&b.CreatedAt})
	return mapErr(err, "bin")
}

// GetBin returns one bin. ENotFound.
func (t *txn) GetBin(ctx context.Context, warehouse, code string) (*fulfill.Bin, error) {
	b, err := scanBin(t.tx.QueryRowContext(ctx, `SELECT `+binCols+` FROM bins WHERE warehouse = ? AND code = ?`,
		warehouse, code))
	if err != nil {
		return nil, mapErr(err, "bin")
	}
	return b, nil
}

// InactiveBins returns every inactive bin by warehouse and code.
func (t *txn) InactiveBins(ctx context.Context) ([]fulfill.Bin, error) {
	return list(ctx, t.tx, `SELECT `+binCols+` FROM bins WHERE active = 0 ORDER BY warehouse, code`,
		nil, "inactive bins", scanBin)
}

// ListBins returns a warehouse's bins by pick sequence, then code, after
// the bin whose code is page.After. ENotFound for an unknown warehouse;
// EInvalid when page.After names no bin of it.
func (t *txn) ListBins(ctx context.Context, warehouse string, page fulfill.Page) ([]fulfill.Bin, error) {
	var exists bool
	err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM warehouses WHERE code = ?)`, warehouse).Scan(&exists)
	if err != nil {
		return nil, mapErr(err, "warehouse")
	}
	if !exists {
		return nil, fulfill.FieldErrorf(fulfill.ENotFound, "warehouse", "warehouse %s not found", warehouse)
	}
	n := limit(page.Limit)
	if page.After == "" {
		return list(ctx, t.tx, `SELECT `+binCols+` FROM bins WHERE warehouse = ?
			ORDER BY pick_seq, code LIMIT ?`, []any{warehouse, n}, "bins", scanBin)
	}
	var seq int64
	err = t.tx.QueryRowContext(ctx, `SELECT pick_seq FROM bins WHERE warehouse = ? AND code = ?`,
		warehouse, page.After).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "cursor", "cursor names no bin of warehouse %s", warehouse)
	}
	if err != nil {
		return nil, mapErr(err, "bins")
	}
	return list(ctx, t.tx, `SELECT `+binCols+` FROM bins WHERE warehouse = ?
		AND (pick_seq > ? OR (pick_seq = ? AND code > ?))
		ORDER BY pick_seq, code LIMIT ?`, []any{warehouse, seq, seq, page.After, n}, "bins", scanBin)
}
