package app

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/fulfill-dev/fulfill"
)

// demoOrder is the order LoadDemo imports files in: each needs the ones
// before it.
var demoOrder = []struct {
	kind ImportKind
	file string
}{
	{ImportWarehouses, "warehouses.csv"},
	{ImportBins, "bins.csv"},
	{ImportProducts, "products.csv"},
	{ImportStock, "stock.csv"},
}

// LoadDemo imports warehouses.csv, bins.csv, products.csv and stock.csv
// from fsys, in that order, as actor "import". progress, when not nil, is
// called after each row. It returns one report per file; a missing file or
// a refused header stops it with an error.
func (a *App) LoadDemo(ctx context.Context, fsys fs.FS, progress func(kind ImportKind, rowsDone int)) ([]*ImportReport, error) {
	reps := make([]*ImportReport, 0, len(demoOrder))
	for _, d := range demoOrder {
		rep, err := a.importFile(ctx, fsys, d.kind, d.file, progress)
		if err != nil {
			return reps, err
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// importFile imports one file of fsys.
func (a *App) importFile(ctx context.Context, fsys fs.FS, kind ImportKind, name string, progress func(ImportKind, int)) (*ImportReport, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", name, err)
	}
	defer f.Close()
	var p func(int)
	if progress != nil {
		p = func(n int) { progress(kind, n) }
	}
	rep, err := a.Import(ctx, kind, f, ActorImport, p)
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", name, err)
	}
	return rep, nil
}

// IsEmpty reports whether the store holds no products and no warehouses
// (so that the demo data may be loaded).
func (a *App) IsEmpty(ctx context.Context) (bool, error) {
	empty := false
	err := a.store.View(ctx, func(tx fulfill.Tx) error {
		ps, err := tx.ListProducts(ctx, fulfill.Page{Limit: 1}, nil)
		if err != nil {
			return err
		}
		ws, err := tx.ListWarehouses(ctx, fulfill.Page{Limit: 1}, nil)
		empty = len(ps) == 0 && len(ws) == 0
		return err
	})
	return empty, err
}
