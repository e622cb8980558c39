package app

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// ImportKind names what a CSV file holds.
type ImportKind string

// Import kinds, in the order a fresh database needs them.
const (
	ImportWarehouses ImportKind = "warehouses"
	ImportBins       ImportKind = "bins"
	ImportProducts   ImportKind = "products"
	ImportStock      ImportKind = "stock"
)

// Valid reports whether k is a known import kind.
func (k ImportKind) Valid() bool {
	_, ok := importers[k]
	return ok
}

// ImportReport says what an import did. Every data row is counted once:
// created, updated, unchanged or rejected.
type ImportReport struct {
	Kind      ImportKind    `json:"kind"`
	RowsRead  int           `json:"rows_read"`
	Created   int           `json:"created"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Rejected  []RejectedRow `json:"rejected"`
}

// RejectedRow is one row an import refused, with its line in the file (the
// header is line 1), the column at fault when known, and why.
type RejectedRow struct {
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// outcome is what applying one row did.
type outcome int

const (
	created outcome = iota
	updated
	unchanged
)

// importer describes one CSV format: its columns, the required ones, and
// how one row is applied inside a transaction.
type importer struct {
	columns  []string
	required []string
	apply    func(a *App, ctx context.Context, tx fulfill.Tx, r row) (outcome, error)
}

var importers = map[ImportKind]importer{
	ImportProducts: {
		columns:  []string{"sku", "name", "barcode", "price", "currency", "weight_grams", "length_mm", "width_mm", "height_mm", "active"},
		required: []string{"sku", "name", "price", "currency"},
		apply:    (*App).importProduct,
	},
	ImportWarehouses: {
		columns:  []string{"code", "name", "line1", "city", "region", "postal_code", "country", "latitude", "longitude", "cutoff_time", "time_zone", "active"},
		required: []string{"code", "name", "cutoff_time", "time_zone"},
		apply:    (*App).importWarehouse,
	},
	ImportBins: {
		columns:  []string{"warehouse", "zone", "aisle", "rack", "shelf", "position", "pick_sequence", "active"},
		required: []string{"warehouse", "zone", "aisle", "rack", "shelf"},
		apply:    (*App).importBin,
	},
	ImportStock: {
		columns:  []string{"sku", "warehouse", "bin", "quantity"},
		required: []string{"sku", "warehouse", "bin", "quantity"},
		apply:    (*App).importStock,
	},
}

// Import reads a CSV file of kind from r and applies each data row in its
// own transaction, so a bad row never aborts the good ones and no row is
// half-applied. actor is recorded on every write; progress, when not nil, is
// called after each row with the number of rows done. The whole file is
// refused (EInvalid) when the kind is unknown or the header is empty, has an
// unknown or repeated column, or lacks a required one; rejected rows are
// listed in the report instead.
func (a *App) Import(ctx context.Context, kind ImportKind, r io.Reader, actor string, progress func(rowsDone int)) (*ImportReport, error) {
	imp, ok := importers[kind]
	if !ok {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown import kind %q: use warehouses, bins, products or stock", kind)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cols, err := readHeader(cr, kind, imp)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{Kind: kind, Rejected: []RejectedRow{}}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fulfill.Wrap(err, "import cancelled")
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rep.RowsRead++
			rep.Rejected = append(rep.Rejected, RejectedRow{Line: pe.StartLine, Reason: "malformed CSV: " + pe.Err.Error()})
			report(progress, rep.RowsRead)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s CSV: %w", kind, err)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		rep.RowsRead++
		a.importRow(ctx, imp, rep, row{line: line, cols: cols, rec: rec, actor: actor})
		report(progress, rep.RowsRead)
	}
	a.log.InfoContext(ctx, "import done", "kind", kind, "actor", actor, "rows", rep.RowsRead,
		"created", rep.Created, "updated", rep.Updated, "unchanged", rep.Unchanged, "rejected", len(rep.Rejected))
	return rep, nil
}

// report calls progress when set.
func report(progress func(int), n int) {
	if progress != nil {
		progress(n)
	}
}

// readHeader reads and checks the header row and returns the column
// positions by name.
func readHeader(cr *csv.Reader, kind ImportKind, imp importer) (map[string]int, error) {
	expected := strings.Join(imp.columns, ",")
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fulfill.Errorf(fulfill.EInvalid, "%s CSV is empty: the first line must be the header %s", kind, expected)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fulfill.Errorf(fulfill.EInvalid, "%s CSV header is malformed: %v", kind, pe.Err)
		}
		return nil, fmt.Errorf("read %s CSV: %w", kind, err)
	}
	cols := make(map[string]int, len(head))
	for i, h := range head {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(imp.columns, name) {
			return nil, fulfill.FieldErrorf(fulfill.EInvalid, name, "unknown column %q in the %s CSV header; the columns are %s", name, kind, expected)
		}
		if _, dup := cols[name]; dup {
			return nil, fulfill.FieldErrorf(fulfill.EInvalid, name, "column %q appears twice in the %s CSV header", name, kind)
		}
		cols[name] = i
	}
	for _, c := range imp.required {
		if _, ok := cols[c]; !ok {
			return nil, fulfill.FieldErrorf(fulfill.EInvalid, c, "the %s CSV header lacks the required column %q; the columns are %s", kind, c, expected)
		}
	}
	return cols, nil
}

// blank reports whether every cell of rec is empty.
func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// importRow applies one row in its own transaction and counts the outcome.
func (a *App) importRow(ctx context.Context, imp importer, rep *ImportReport, r row) {
	var out outcome
	err := r.check(imp.required)
	if err == nil {
		err = a.store.Update(ctx, func(tx fulfill.Tx) (err error) {
			out, err = imp.apply(a, ctx, tx, r)
			return err
		})
	}
	if err != nil {
		rep.Rejected = append(rep.Rejected, a.rejection(ctx, r.line, err))
		return
	}
	switch out {
	case created:
		rep.Created++
	case updated:
		rep.Updated++
	default:
		rep.Unchanged++
	}
}

// rejection describes a row's error; an internal error is logged and
// reported without its cause.
func (a *App) rejection(ctx context.Context, line int, err error) RejectedRow {
	var fe *fulfill.Error
	if errors.As(err, &fe) && fe.Code != fulfill.EInternal {
		return RejectedRow{Line: line, Field: fe.Field, Reason: fe.Message}
	}
	a.log.ErrorContext(ctx, "import row failed", "line", line, "err", err)
	return RejectedRow{Line: line, Reason: "internal error"}
}

// row is one data row of a CSV file.
type row struct {
	line  int
	cols  map[string]int
	rec   []string
	actor string
}

// check refuses a row with the wrong number of cells or a blank required
// cell.
func (r row) check(required []string) error {
	if len(r.rec) != len(r.cols) {
		return fulfill.Errorf(fulfill.EInvalid, "row has %d cells but the header has %d", len(r.rec), len(r.cols))
	}
	for _, c := range required {
		if r.str(c) == "" {
			return fulfill.FieldErrorf(fulfill.EInvalid, c, "%s is required", c)
		}
	}
	return nil
}

// has reports whether the file has column c.
func (r row) has(c string) bool {
	_, ok := r.cols[c]
	return ok
}

// str returns the trimmed cell of column c ("" when there is no column).
func (r row) str(c string) string {
	i, ok := r.cols[c]
	if !ok || i >= len(r.rec) {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

// setStr copies column c into dst when the file has the column.
func (r row) setStr(c string, dst *string) {
	if r.has(c) {
		*dst = r.str(c)
	}
}

// setInt parses column c into dst when the file has it; a blank cell is 0.
func (r row) setInt(c string, dst *int64) error {
	if !r.has(c) {
		return nil
	}
	s := r.str(c)
	if s == "" {
		*dst = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fulfill.FieldErrorf(fulfill.EInvalid, c, "%s must be a whole number, not %q", c, s)
	}
	*dst = v
	return nil
}

// setFloat parses column c into dst when the file has it; a blank cell is 0.
func (r row) setFloat(c string, dst *float64) error {
	if !r.has(c) {
		return nil
	}
	s := r.str(c)
	if s == "" {
		*dst = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fulfill.FieldErrorf(fulfill.EInvalid, c, "%s must be a number, not %q", c, s)
	}
	*dst = v
	return nil
}

// setBool parses column c into dst when the file has it; a blank cell is
// true (things are active unless said otherwise).
func (r row) setBool(c string, dst *bool) error {
	if !r.has(c) {
		return nil
	}
	switch strings.ToLower(r.str(c)) {
	case "", "true", "yes", "1":
		*dst = true
	case "false", "no", "0":
		*dst = false
	default:
		return fulfill.FieldErrorf(fulfill.EInvalid, c, "%s must be true or false, not %q", c, r.str(c))
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
