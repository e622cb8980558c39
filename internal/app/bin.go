package app

import (
	"context"

	"github.com/fulfill-dev/fulfill"
)

// BinInput is a new bin as a client sends it; the warehouse comes from the
// path. Code is derived from the address when empty.
type BinInput struct {
	Code     string `json:"code"`
	Zone     string `json:"zone"`
	Aisle    string `json:"aisle"`
	Rack     string `json:"rack"`
	Shelf    string `json:"shelf"`
	Position string `json:"position"`
	PickSeq  int64  `json:"pick_sequence"`
	// Active defaults to true.
	Active *bool `json:"active"`
}

// BinPatch changes a bin's walking order or activity. Its address is its
// identity and cannot change: make a new bin instead.
type BinPatch struct {
	PickSeq *int64 `json:"pick_sequence"`
	Active  *bool  `json:"active"`
}

// CreateBin validates and stores a new bin in warehouse. EInvalid;
// ENotFound when the warehouse does not exist; EAlreadyExists.
func (a *App) CreateBin(ctx context.Context, actor, warehouse string, in BinInput) (*fulfill.Bin, error) {
	now := a.clock.Now()
	b := &fulfill.Bin{
		Warehouse: warehouse, Code: in.Code, Zone: in.Zone, Aisle: in.Aisle, Rack: in.Rack,
		Shelf: in.Shelf, Position: in.Position, PickSeq: in.PickSeq,
		Active: in.Active == nil || *in.Active, CreatedAt: now, UpdatedAt: now,
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := a.store.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateBin(ctx, b) }); err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "bin.create", "warehouse", warehouse, "bin", b.Code)
	return b, nil
}

// GetBin returns one bin. ENotFound.
func (a *App) GetBin(ctx context.Context, warehouse, code string) (*fulfill.Bin, error) {
	var b *fulfill.Bin
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		b, err = tx.GetBin(ctx, warehouse, code)
		return err
	})
	return b, err
}

// ListBins returns one page of a warehouse's bins in walking order.
// ENotFound when the warehouse does not exist; EInvalid.
func (a *App) ListBins(ctx context.Context, warehouse string, lp ListParams) ([]fulfill.Bin, string, error) {
	page, limit, err := lp.storePage()
	if err != nil {
		return nil, "", err
	}
	var rows []fulfill.Bin
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.ListBins(ctx, warehouse, page)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(b fulfill.Bin) string { return b.Code })
	return rows, next, nil
}

// UpdateBin merges patch into a bin and saves it. ENotFound, EInvalid.
func (a *App) UpdateBin(ctx context.Context, actor, warehouse, code string, patch BinPatch) (*fulfill.Bin, error) {
	var b *fulfill.Bin
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		if b, err = tx.GetBin(ctx, warehouse, code); err != nil {
			return err
		}
		set(&b.PickSeq, patch.PickSeq)
		set(&b.Active, patch.Active)
		if err := b.Validate(); err != nil {
			return err
		}
		b.UpdatedAt = a.clock.Now()
		return tx.UpdateBin(ctx, b)
	})
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "bin.update", "warehouse", warehouse, "bin", code)
	return b, nil
}

// DeactivateBin marks a bin inactive and returns it. ENotFound.
func (a *App) DeactivateBin(ctx context.Context, actor, warehouse, code string) (*fulfill.Bin, error) {
	off := false
	return a.UpdateBin(ctx, actor, warehouse, code, BinPatch{Active: &off})
}
