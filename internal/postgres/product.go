package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

const productCols = `sku, name, barcode, price_amount, currency, weight_grams,
	length_mm, width_mm, height_mm, active, out_of_stock_policy, created_at, updated_at`

func scanProduct(row pgx.CollectableRow) (fulfill.Product, error) {
	var p fulfill.Product
	d := &p.DimensionsMM
	err := row.Scan(&p.SKU, &p.Name, &p.Barcode, &p.Price.Amount, &p.Price.Currency, &p.WeightGrams,
		&d.Length, &d.Width, &d.Height, &p.Active, &p.OutOfStockPolicy, &p.CreatedAt, &p.UpdatedAt)
	utc(&p.CreatedAt)
	utc(&p.UpdatedAt)
	return p, err
}

// CreateProduct inserts p. EAlreadyExists when the SKU or a non-empty
// barcode is taken.
func (t *tx) CreateProduct(ctx context.Context, p *fulfill.Product) error {
	p.CreatedAt, p.UpdatedAt = stamp(p.CreatedAt), stamp(p.UpdatedAt)
	d := p.DimensionsMM
	// ON CONFLICT DO NOTHING (no target) covers both the key and the
	// partial barcode index; see the note on tx.
	tag, err := t.tx.Exec(ctx, `INSERT INTO products (`+productCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT DO NOTHING`,
		p.SKU, p.Name, p.Barcode, p.Price.Amount, p.Price.Currency, p.WeightGrams,
		d.Length, d.Width, d.Height, p.Active, string(p.OutOfStockPolicy), p.CreatedAt, p.UpdatedAt)
	if err != nil {
		return mapErr(err, "create product")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	taken, err := t.exists(ctx, `SELECT 1 FROM products WHERE sku = $1`, p.SKU)
	if err != nil {
		return err
	}
	if taken {
		return fulfill.FieldErrorf(fulfill.EAlreadyExists, "sku", "a product with SKU %q already exists", p.SKU)
	}
	return barcodeTaken(p.Barcode)
}

func barcodeTaken(barcode string) error {
	return fulfill.FieldErrorf(fulfill.EAlreadyExists, "barcode", "another product already has barcode %q", barcode)
}

// UpdateProduct replaces the product p.SKU (all but created_at).
// ENotFound; EAlreadyExists when the new barcode is taken.
func (t *tx) UpdateProduct(ctx context.Context, p *fulfill.Product) error {
	p.UpdatedAt = stamp(p.UpdatedAt)
	d := p.DimensionsMM
	// The NOT EXISTS guard turns a barcode clash into zero rows instead of
	// a unique violation that would abort the transaction (see tx).
	var created time.Time
	err := t.tx.QueryRow(ctx, `UPDATE products SET name = $2, barcode = $3, price_amount = $4,
			currency = $5, weight_grams = $6, length_mm = $7, width_mm = $8, height_mm = $9,
			active = $10, updated_at = $11, out_of_stock_policy = $12
		WHERE sku = $1 AND NOT EXISTS (
			SELECT 1 FROM products o WHERE $3 <> '' AND o.barcode = $3 AND o.sku <> $1)
		RETURNING created_at`,
		p.SKU, p.Name, p.Barcode, p.Price.Amount, p.Price.Currency, p.WeightGrams,
		d.Length, d.Width, d.Height, p.Active, p.UpdatedAt, string(p.OutOfStockPolicy)).Scan(&created)
	if err == nil {
		p.CreatedAt = created.UTC()
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return mapErr(err, "update product")
	}
	found, err := t.exists(ctx, `SELECT 1 FROM products WHERE sku = $1`, p.SKU)
	if err != nil {
		return err
	}
	if !found {
		return productNotFound(p.SKU)
	}
	return barcodeTaken(p.Barcode)
}

func productNotFound(sku string) error {
	return fulfill.FieldErrorf(fulfill.ENotFound, "sku", "product %q not found", sku)
}

// GetProduct returns one product. ENotFound.
func (t *tx) GetProduct(ctx context.Context, sku string) (*fulfill.Product, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+productCols+` FROM products WHERE sku = $1`, sku)
	p, err := pgx.CollectExactlyOneRow(rows, scanProduct)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, productNotFound(sku)
	}
	if err != nil {
		return nil, mapErr(err, "get product")
	}
	return &p, nil
}

// ListProducts returns products in SKU order after page.After.
func (t *tx) ListProducts(ctx context.Context, page fulfill.Page, active *bool) ([]fulfill.Product, error) {
	var w where
	if page.After != "" {
		w.add("sku > ?", page.After)
	}
	if active != nil {
		w.add("active = ?", *active)
	}
	q := `SELECT ` + productCols + ` FROM products` + w.sql() + ` ORDER BY sku` + w.limit(pageLimit(page.Limit))
	rows, _ := t.tx.Query(ctx, q, w.args...)
	ps, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, mapErr(err, "list products")
	}
	return ps, nil
}
