package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// importProduct creates or updates the product of one row. Columns absent
// from the file keep their stored values.
func (a *App) importProduct(ctx context.Context, tx fulfill.Tx, r row) (outcome, error) {
	sku := r.str("sku")
	if err := fulfill.ValidateSKU("sku", sku); err != nil {
		return 0, err
	}
	old, err := tx.GetProduct(ctx, sku)
	if err != nil && !fulfill.IsCode(err, fulfill.ENotFound) {
		return 0, err
	}
	p := fulfill.Product{SKU: sku, Active: true}
	if old != nil {
		p = *old
	}
	r.setStr("name", &p.Name)
	r.setStr("barcode", &p.Barcode)
	r.setStr("currency", &p.Price.Currency)
	p.Price.Currency = strings.ToUpper(p.Price.Currency)
	if err := firstErr(r.setInt("price", &p.Price.Amount), r.setInt("weight_grams", &p.WeightGrams),
		r.setInt("length_mm", &p.DimensionsMM.Length), r.setInt("width_mm", &p.DimensionsMM.Width),
		r.setInt("height_mm", &p.DimensionsMM.Height), r.setBool("active", &p.Active)); err != nil {
		return 0, err
	}
	if err := p.Validate(); err != nil {
		return 0, err
	}
	now := a.clock.Now()
	if old == nil {
		p.CreatedAt, p.UpdatedAt = now, now
		return created, tx.CreateProduct(ctx, &p)
	}
	if sameProduct(*old, p) {
		return unchanged, nil
	}
	p.UpdatedAt = now
	return updated, tx.UpdateProduct(ctx, &p)
}

// sameProduct compares two products without their timestamps.
func sameProduct(x, y fulfill.Product) bool {
	x.CreatedAt, x.UpdatedAt, y.CreatedAt, y.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return x == y
}

// importWarehouse creates or updates the warehouse of one row.
func (a *App) importWarehouse(ctx context.Context, tx fulfill.Tx, r row) (outcome, error) {
	code := r.str("code")
	if err := fulfill.ValidateCode("code", code); err != nil {
		return 0, err
	}
	old, err := tx.GetWarehouse(ctx, code)
	if err != nil && !fulfill.IsCode(err, fulfill.ENotFound) {
		return 0, err
	}
	w := fulfill.Warehouse{Code: code, Active: true}
	if old != nil {
		w = *old
	}
	r.setStr("name", &w.Name)
	r.setStr("line1", &w.Address.Line1)
	r.setStr("city", &w.Address.City)
	r.setStr("region", &w.Address.Region)
	r.setStr("postal_code", &w.Address.PostalCode)
	r.setStr("country", &w.Address.Country)
	r.setStr("cutoff_time", &w.CutoffTime)
	r.setStr("time_zone", &w.TimeZone)
	if err := firstErr(r.setFloat("latitude", &w.Latitude), r.setFloat("longitude", &w.Longitude),
		r.setBool("active", &w.Active)); err != nil {
		return 0, err
	}
	if err := w.Validate(); err != nil {
		return 0, err
	}
	now := a.clock.Now()
	if old == nil {
		w.CreatedAt, w.UpdatedAt = now, now
		return created, tx.CreateWarehouse(ctx, &w)
	}
	if sameWarehouse(*old, w) {
		return unchanged, nil
	}
	w.UpdatedAt = now
	return updated, tx.UpdateWarehouse(ctx, &w)
}

// sameWarehouse compares two warehouses without their timestamps.
func sameWarehouse(x, y fulfill.Warehouse) bool {
	x.CreatedAt, x.UpdatedAt, y.CreatedAt, y.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return x == y
}

// importBin creates or updates the bin of one row; its code comes from its
// address.
func (a *App) importBin(ctx context.Context, tx fulfill.Tx, r row) (outcome, error) {
	b := fulfill.Bin{
		Warehouse: r.str("warehouse"), Zone: r.str("zone"), Aisle: r.str("aisle"),
		Rack: r.str("rack"), Shelf: r.str("shelf"), Position: r.str("position"), Active: true,
	}
	if err := fulfill.ValidateCode("warehouse", b.Warehouse); err != nil {
		return 0, err
	}
	if err := b.Validate(); err != nil {
		return 0, err
	}
	old, err := tx.GetBin(ctx, b.Warehouse, b.Code)
	if err != nil && !fulfill.IsCode(err, fulfill.ENotFound) {
		return 0, err
	}
	if old != nil {
		b = *old
	}
	if err := firstErr(r.setInt("pick_sequence", &b.PickSeq), r.setBool("active", &b.Active)); err != nil {
		return 0, err
	}
	if err := b.Validate(); err != nil {
		return 0, err
	}
	now := a.clock.Now()
	if old == nil {
		b.CreatedAt, b.UpdatedAt = now, now
		if err := tx.CreateBin(ctx, &b); err != nil {
			return 0, withField(err, fulfill.ENotFound, "warehouse")
		}
		return created, nil
	}
	if old.PickSeq == b.PickSeq && old.Active == b.Active {
		return unchanged, nil
	}
	b.UpdatedAt = now
	return updated, tx.UpdateBin(ctx, &b)
}

// importStock sets the counted on hand of one SKU in one bin: a receipt
// when the bin never held the SKU, otherwise an adjustment by the
// difference, and nothing when the count already matches.
func (a *App) importStock(ctx context.Context, tx fulfill.Tx, r row) (outcome, error) {
	sku, wh, bin := r.str("sku"), r.str("warehouse"), r.str("bin")
	if err := validateLocation(sku, wh, bin); err != nil {
		return 0, err
	}
	var qty int64
	if err := r.setInt("quantity", &qty); err != nil {
		return 0, err
	}
	if qty < 0 {
		return 0, fulfill.FieldErrorf(fulfill.EInvalid, "quantity", "quantity must not be negative")
	}
	cur, found, err := binStock(ctx, tx, sku, wh, bin)
	if err != nil {
		return 0, err
	}
	m := fulfill.StockMovement{
		SKU: sku, Warehouse: wh, Bin: bin, Cause: fmt.Sprintf("stock import line %d", r.line),
		Actor: r.actor, At: a.clock.Now(),
	}
	out := created
	switch {
	case !found && qty == 0, found && cur.OnHand == qty:
		return unchanged, nil
	case !found:
		m.Kind, m.OnHandDelta = fulfill.MoveReceipt, qty
	default:
		m.Kind, m.OnHandDelta, out = fulfill.MoveAdjustment, qty-cur.OnHand, updated
	}
	if _, err := tx.MoveStock(ctx, m); err != nil {
		return 0, withField(err, fulfill.EInsufficient, "quantity")
	}
	// Backorders first, low-stock check (backorder.go).
	return out, a.afterStockMove(ctx, tx, m)
}

// binStock returns the stock of sku in one bin; found is false when the
// bin never held the SKU.
func binStock(ctx context.Context, tx fulfill.Tx, sku, wh, bin string) (cur fulfill.BinStock, found bool, err error) {
	rows, err := tx.BinStocks(ctx, fulfill.StockFilter{SKU: sku, Warehouse: wh})
	if err != nil {
		return cur, false, err
	}
	for _, r := range rows {
		if r.Bin == bin {
			return r, true, nil
		}
	}
	return cur, false, nil
}

// withField names field on an error of code that names none.
func withField(err error, code fulfill.ErrorCode, field string) error {
	var fe *fulfill.Error
	if !errors.As(err, &fe) || fe.Code != code || fe.Field != "" {
		return err
	}
	c := *fe
	c.Field = field
	return &c
}
