package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fulfill-dev/fulfill/demo"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// importCmd is `fulfill import KIND FILE.csv` and `fulfill import --demo`.
// It prints a summary table and fails when any row was rejected.
func (e *env) importCmd(ctx context.Context, args []string) error {
	var useDemo bool
	cfg, pos, err := e.flags("import", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&useDemo, "demo", false, "import the built-in demo data set (warehouses, bins, products, stock)")
	})
	if err != nil {
		return helped(err)
	}
	if useDemo != (len(pos) == 0) || (!useDemo && len(pos) != 2) {
		return usagef("usage: fulfill import products|warehouses|bins|stock FILE.csv, or fulfill import --demo")
	}
	var kind app.ImportKind
	if !useDemo {
		if kind, err = parseKind(pos[0]); err != nil {
			return err
		}
	}
	log := cfg.Logger(e.stderr)
	st, err := openStore(ctx, cfg, queue.Config{Logger: log}, log)
	if err != nil {
		return err
	}
	defer st.Close()
	a := app.New(st, app.Options{Logger: log})
	var reports []*app.ImportReport
	if useDemo {
		reports, err = e.importDemo(ctx, a)
	} else {
		var r *app.ImportReport
		r, err = e.importFile(ctx, a, kind, pos[1])
		reports = append(reports, r)
	}
	if err != nil {
		return err
	}
	return printReports(e.stdout, reports)
}

func parseKind(s string) (app.ImportKind, error) {
	switch k := app.ImportKind(s); k {
	case app.ImportProducts, app.ImportWarehouses, app.ImportBins, app.ImportStock:
		return k, nil
	}
	return "", usagef("unknown import kind %q: use products, warehouses, bins or stock", s)
}

func (e *env) importFile(ctx context.Context, a *app.App, kind app.ImportKind, path string) (*app.ImportReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	bar := e.newBar(string(kind), dataRows(data))
	r, err := a.Import(ctx, kind, bytes.NewReader(data), app.ActorImport, func(n int) { _ = bar.Set(n) })
	_ = bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("import %s from %s: %w", kind, path, err)
	}
	return r, nil
}

func (e *env) importDemo(ctx context.Context, a *app.App) ([]*app.ImportReport, error) {
	bars := map[app.ImportKind]*progressbar.ProgressBar{}
	progress := func(kind app.ImportKind, n int) {
		bar, ok := bars[kind]
		if !ok {
			for _, b := range bars {
				_ = b.Finish()
			}
			data, _ := fs.ReadFile(demo.FS, string(kind)+".csv")
			bar = e.newBar(string(kind), dataRows(data))
			bars[kind] = bar
		}
		_ = bar.Set(n)
	}
	reports, err := a.LoadDemo(ctx, demo.FS, progress)
	for _, b := range bars {
		_ = b.Finish()
	}
	if err != nil {
		return nil, fmt.Errorf("import the demo data: %w", err)
	}
	return reports, nil
}

// newBar draws import progress on stderr, so stdout keeps only the summary.
func (e *env) newBar(desc string, rows int) *progressbar.ProgressBar {
	return progressbar.NewOptions(rows,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(fmt.Sprintf("%-10s", desc)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(e.stderr) }),
	)
}

// dataRows estimates a CSV file's data rows for the progress bar: its lines
// less the header. (Quoted newlines make it an overestimate; the bar only
// guides the eye.)
func dataRows(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return max(n-1, 1)
}

// printReports writes the summary table and the rejected rows, and returns
// an error when any row was rejected, so the exit status says so.
func printReports(w io.Writer, reports []*app.ImportReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tROWS READ\tCREATED\tUPDATED\tUNCHANGED\tREJECTED")
	rejected := 0
	for _, r := range reports {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", r.Kind, r.RowsRead, r.Created, r.Updated, r.Unchanged, len(r.Rejected))
		rejected += len(r.Rejected)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rejected == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nrejected rows (line 1 is the header):")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tLINE\tFIELD\tREASON")
	for _, r := range reports {
		for _, rr := range r.Rejected {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Kind, rr.Line, orDash(rr.Field), rr.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.New(plural(rejected, "row") + " rejected; the other rows were applied")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
