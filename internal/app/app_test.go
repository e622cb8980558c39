package app_test

import (
	"database/sql"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

// newApp returns an App on a fresh SQLite file, and the file's path.
func newApp(t *testing.T) (*app.App, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.db")
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: path, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return app.New(st, app.Options{Logger: quiet()}), path
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestImportsOnlyDomainAndStdlib enforces the dependency rule of app.
func TestImportsOnlyDomainAndStdlib(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.Split(path, "/")[0]
			if path != "github.com/fulfill-dev/fulfill" && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: app may import only fulfill and the standard library", name, path)
			}
		}
	}
}

func TestImportRows(t *testing.T) {
	t.Parallel()
	a, _ := newApp(t)
	ctx := t.Context()
	csv := "\ufeffSKU, Name ,price,currency,active\n" +
		"A-1,Apple,100,INR,true\n" +
		"\n" +
		",,,,\n" +
		"A-2,Pear,100,INR\n" + // too few cells
		"A-3,\"Bad \"quote,100,INR,true\n" +
		"A-4,Plum,100,INR,maybe\n" +
		"A-5,Fig,100,INR,false\n"
	var progress []int
	rep, err := a.Import(ctx, app.ImportProducts, strings.NewReader(csv), "import", func(n int) { progress = append(progress, n) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsRead != 5 || rep.Created != 2 || len(rep.Rejected) != 3 || len(progress) != 5 || progress[4] != 5 {
		t.Fatalf("report %+v progress %v", rep, progress)
	}
	lines := []int{rep.Rejected[0].Line, rep.Rejected[1].Line, rep.Rejected[2].Line}
	if lines[0] != 5 || lines[1] != 6 || lines[2] != 7 || rep.Rejected[2].Field != "active" {
		t.Fatalf("rejected %+v", rep.Rejected)
	}
	p, err := a.GetProduct(ctx, "A-5")
	if err != nil || p.Active {
		t.Fatalf("A-5 %+v %v", p, err)
	}

	for name, bad := range map[string]string{
		"empty":          "",
		"missing column": "sku,name,price\nA,B,1\n",
		"repeated":       "sku,sku,name,price,currency\n",
		"unknown":        "sku,name,price,currency,size\n",
	} {
		if _, err := a.Import(ctx, app.ImportProducts, strings.NewReader(bad), "import", nil); !fulfill.IsCode(err, fulfill.EInvalid) {
			t.Errorf("%s: err %v, want invalid", name, err)
		}
	}
	if _, err := a.Import(ctx, "orders", strings.NewReader("a\n"), "import", nil); !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestLoadDemoAuditAndEmpty(t *testing.T) {
	t.Parallel()
	a, path := newApp(t)
	ctx := t.Context()
	if empty, err := a.IsEmpty(ctx); err != nil || !empty {
		t.Fatalf("fresh store empty=%v err=%v", empty, err)
	}
	fsys := fstest.MapFS{
		"warehouses.csv": {Data: []byte("code,name,line1,city,region,postal_code,country,latitude,longitude,cutoff_time,time_zone,active\nBLR,Bengaluru,1 MG Road,Bengaluru,KA,560001,IN,12.97,77.59,17:00,Asia/Kolkata,true\n")},
		"bins.csv":       {Data: []byte("warehouse,zone,aisle,rack,shelf,position,pick_sequence,active\nBLR,A,12,C,4,,1,true\nBLR,A,12,C,5,1,2,true\n")},
		"products.csv":   {Data: []byte("sku,name,barcode,price,currency,weight_grams,length_mm,width_mm,height_mm,active\nWHEY-1,Whey,4006381333931,249900,INR,2100,300,200,150,true\n")},
		"stock.csv":      {Data: []byte("sku,warehouse,bin,quantity\nWHEY-1,BLR,A-12-C-4,10\nWHEY-1,BLR,A-12-C-5-1,3\n")},
	}
	calls := map[app.ImportKind]int{}
	reps, err := a.LoadDemo(ctx, fsys, func(k app.ImportKind, n int) { calls[k] = n })
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 4 || calls[app.ImportStock] != 2 {
		t.Fatalf("reports %d, progress %v", len(reps), calls)
	}
	for _, r := range reps {
		if len(r.Rejected) != 0 || r.Created != r.RowsRead {
			t.Fatalf("%s: %+v", r.Kind, r)
		}
	}
	if empty, _ := a.IsEmpty(ctx); empty {
		t.Fatal("store with demo data is empty")
	}
	levels, err := a.StockLevels(ctx, fulfill.StockFilter{SKU: "WHEY-1"})
	if err != nil || len(levels) != 1 || levels[0].OnHand != 13 {
		t.Fatalf("levels %+v %v", levels, err)
	}
	if err := a.AuditStock(ctx, app.AuditStockArgs{}); err != nil {
		t.Fatalf("audit of a consistent store: %v", err)
	}
	if (app.AuditStockArgs{}).Kind() != "audit_stock" {
		t.Fatal("kind")
	}
	// Break the invariant behind the store's back: the audit must notice.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "UPDATE bin_stock SET on_hand = on_hand + 1 WHERE bin = 'A-12-C-4'"); err != nil {
		t.Fatal(err)
	}
	if err := a.AuditStock(ctx, app.AuditStockArgs{}); err == nil {
		t.Fatal("audit missed a mismatch")
	}
	if _, err := a.LoadDemo(ctx, fstest.MapFS{}, nil); err == nil {
		t.Fatal("LoadDemo without files succeeded")
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	a, _ := newApp(t)
	ctx := t.Context()
	secret, created, err := a.EnsureBootstrapKey(ctx)
	if err != nil || !created || !strings.HasPrefix(secret, "ffk_") {
		t.Fatalf("bootstrap %q %v %v", secret, created, err)
	}
	k, err := a.Authenticate(ctx, secret)
	if err != nil || k.Role != fulfill.RoleAdmin || k.Hash == secret || k.Hash != app.HashSecret(secret) {
		t.Fatalf("authenticate %+v %v", k, err)
	}
	if err := a.RevokeAPIKey(ctx, "test", k.ID); err != nil {
		t.Fatal(err)
	}
	if _, created, err := a.EnsureBootstrapKey(ctx); err != nil || created {
		t.Fatalf("second bootstrap created=%v err=%v (a revoked key still counts)", created, err)
	}
	for _, bad := range []string{secret, "", "ffk_unknown", "Bearer x"} {
		if _, err := a.Authenticate(ctx, bad); !fulfill.IsCode(err, fulfill.EUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v, want unauthenticated", bad, err)
		}
	}
	if _, _, err := a.CreateAPIKey(ctx, "root", "x"); !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Errorf("bad role: %v", err)
	}
	if _, _, err := a.CreateAPIKey(ctx, fulfill.RoleCarrier, " "); !fulfill.IsCode(err, fulfill.EInvalid) {
		t.Errorf("blank name: %v", err)
	}
}
