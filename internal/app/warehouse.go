package app

import (
	"context"

	"github.com/fulfill-dev/fulfill"
)

// WarehouseInput is a new warehouse as a client sends it.
type WarehouseInput struct {
	Code       string          `json:"code"`
	Name       string          `json:"name"`
	Address    fulfill.Address `json:"address"`
	Latitude   float64         `json:"latitude"`
	Longitude  float64         `json:"longitude"`
	CutoffTime string          `json:"cutoff_time"`
	TimeZone   string          `json:"time_zone"`
	// Active defaults to true.
	Active *bool `json:"active"`
}

// WarehousePatch changes some fields of a warehouse; nil fields stay.
type WarehousePatch struct {
	Name       *string          `json:"name"`
	Address    *fulfill.Address `json:"address"`
	Latitude   *float64         `json:"latitude"`
	Longitude  *float64         `json:"longitude"`
	CutoffTime *string          `json:"cutoff_time"`
	TimeZone   *string          `json:"time_zone"`
	Active     *bool            `json:"active"`
}

func (wp WarehousePatch) apply(w *fulfill.Warehouse) {
	set(&w.Name, wp.Name)
	set(&w.Address, wp.Address)
	set(&w.Latitude, wp.Latitude)
	set(&w.Longitude, wp.Longitude)
	set(&w.CutoffTime, wp.CutoffTime)
	set(&w.TimeZone, wp.TimeZone)
	set(&w.Active, wp.Active)
}

// CreateWarehouse validates and stores a new warehouse. EInvalid,
// EAlreadyExists.
func (a *App) CreateWarehouse(ctx context.Context, actor string, in WarehouseInput) (*fulfill.Warehouse, error) {
	now := a.clock.Now()
	w := &fulfill.Warehouse{
		Code: in.Code, Name: in.Name, Address: in.Address, Latitude: in.Latitude,
		Longitude: in.Longitude, CutoffTime: in.CutoffTime, TimeZone: in.TimeZone,
		Active: in.Active == nil || *in.Active, CreatedAt: now, UpdatedAt: now,
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if err := a.store.Update(ctx, func(tx fulfill.Tx) error { return tx.CreateWarehouse(ctx, w) }); err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "warehouse.create", "warehouse", w.Code)
	return w, nil
}

// GetWarehouse returns one warehouse. ENotFound.
func (a *App) GetWarehouse(ctx context.Context, code string) (*fulfill.Warehouse, error) {
	var w *fulfill.Warehouse
	err := a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		w, err = tx.GetWarehouse(ctx, code)
		return err
	})
	return w, err
}

// ListWarehouses returns one page of warehouses in code order and the
// cursor of the next page. EInvalid.
func (a *App) ListWarehouses(ctx context.Context, lp ListParams) ([]fulfill.Warehouse, string, error) {
	page, limit, err := lp.storePage()
	if err != nil {
		return nil, "", err
	}
	var rows []fulfill.Warehouse
	err = a.store.View(ctx, func(tx fulfill.Tx) (err error) {
		rows, err = tx.ListWarehouses(ctx, page, lp.Active)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := trim(rows, limit, func(w fulfill.Warehouse) string { return w.Code })
	return rows, next, nil
}

// UpdateWarehouse merges patch into a warehouse and saves it. ENotFound,
// EInvalid.
func (a *App) UpdateWarehouse(ctx context.Context, actor, code string, patch WarehousePatch) (*fulfill.Warehouse, error) {
	var w *fulfill.Warehouse
	err := a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
		if w, err = tx.GetWarehouse(ctx, code); err != nil {
			return err
		}
		patch.apply(w)
		if err := w.Validate(); err != nil {
			return err
		}
		w.UpdatedAt = a.clock.Now()
		return tx.UpdateWarehouse(ctx, w)
	})
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actor, "warehouse.update", "warehouse", code)
	return w, nil
}

// DeactivateWarehouse marks a warehouse inactive and returns it. ENotFound.
func (a *App) DeactivateWarehouse(ctx context.Context, actor, code string) (*fulfill.Warehouse, error) {
	off := false
	return a.UpdateWarehouse(ctx, actor, code, WarehousePatch{Active: &off})
}
