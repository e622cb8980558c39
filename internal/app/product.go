package app

import (
	"context"

	"github.com/fulfill-dev/fulfill"
)

// ProductInput is a new product as a client sends it.
type ProductInput struct {
	SKU          string             `json:"sku"`
	Name         string             `json:"name"`
	Barcode      string             `json:"barcode"`
	Price        fulfill.Money      `json:"price"`
	WeightGrams  int64              `json:"weight_grams"`
	DimensionsMM fulfill.Dimensions `json:"dimensions_mm"`
	// Active defaults to true.
	Active *bool `json:"active"`
}

// ProductPatch changes some fields of a product; nil fields stay as they
// are.
type ProductPatch struct {
	Name         *string             `json:"name"`
	Barcode      *string             `json:"barcode"`
	Price        *fulfill.Money      `json:"price"`
	WeightGrams  *int64              `json:"weight_grams"`
	DimensionsMM *fulfill.Dimensions `json:"dimensions_mm"`
	Active       *bool               `json:"active"`
}

// apply merges the patch into p.
func (pp ProductPatch) apply(p *fulfill.Product) {
	set(&p.Name, pp.Name)
	set(&p.Barcode, pp.Barcode)
	set(&p.Price, pp.Price)
	set(&p.WeightGrams, pp.WeightGrams)
	set(&p.DimensionsMM, pp.DimensionsMM)
	set(&p.Active, pp.Active)
}

// set copies *v into *dst when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// CreateProduct validates and stores a new product. EInvalid;
// EAlreadyExists when the SKU or barcode is taken.
func (a *App) CreateProduct(ctx context.Context, actor string, in ProductInput) (*fulfill.Product, error) {
	now := a.clock.Now()
	p := &fulfill.Product{
		SKU: in.SKU, Name: in.Name, Barcode: in.Barcode, Price: in.Price,
		WeightGrams: in.WeightGrams, DimensionsMM: in.DimensionsMM,
		Active: in.Active == nil || *in.Active, CreatedAt: now, UpdatedAt: now,
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := a.store.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateProduct(ctx, p) })
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "product.create", "sku", p.SKU)
	return p, nil
}

// GetProduct returns one product. ENotFound.
func (a *App) GetProduct(ctx context.Context, sku string) (*fulfill.Product, error) {
	var p *fulfill.Product
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		p, err = tx.GetProduct(ctx, sku)
		return err
	})
	return p, err
}

// ListProducts returns one page of products in SKU order and the cursor of
// the next page. EInvalid for a bad cursor or limit.
func (a *App) ListProducts(ctx context.Context, lp ListParams) ([]fulfill.Product, string, error) {
	page, limit, err := lp.storePage()
	if err != nil {
		return nil, "", err
	}
	var rows []fulfill.Product
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.ListProducts(ctx, page, lp.Active)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(p fulfill.Product) string { return p.SKU })
	return rows, next, nil
}

// UpdateProduct merges patch into the product with sku, validates and saves
// it in one transaction. ENotFound, EInvalid, EAlreadyExists.
func (a *App) UpdateProduct(ctx context.Context, actor, sku string, patch ProductPatch) (*fulfill.Product, error) {
	var p *fulfill.Product
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		if p, err = tx.GetProduct(ctx, sku); err != nil {
			return err
		}
		patch.apply(p)
		if err := p.Validate(); err != nil {
			return err
		}
		p.UpdatedAt = a.clock.Now()
		return tx.UpdateProduct(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "product.update", "sku", sku)
	return p, nil
}

// DeactivateProduct marks a product inactive and returns it. ENotFound.
func (a *App) DeactivateProduct(ctx context.Context, actor, sku string) (*fulfill.Product, error) {
	off := false
	return a.UpdateProduct(ctx, actor, sku, ProductPatch{Active: &off})
}

// audit logs one write with its actor.
func (a *App) audit(ctx context.Context, actor, action string, attrs ...any) {
	a.log.InfoContext(ctx, "audit", append([]any{"actor", actor, "action", action}, attrs...)...)
}
