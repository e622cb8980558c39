package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

type productJSON struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Price struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"price"`
}

// checkDemoServer checks a freshly started server: health, the bootstrap
// key, and the demo catalog behind it.
func checkDemoServer(t *testing.T, s *server) {
	t.Helper()
	if status, body := call(t, http.MethodGet, s.base+"/healthz", "", nil); status != http.StatusOK {
		t.Fatalf("GET /healthz = %d %s", status, body)
	}
	if s.key == "" {
		t.Fatalf("no admin key printed on a fresh database; output:\n%s", s.out)
	}
	if status, _ := call(t, http.MethodGet, s.base+"/v1/products", "", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/products without a key = %d, want 401", status)
	}
	products := getAll[productJSON](t, s.base+"/v1/products?limit=20", s.key)
	if len(products) < 40 {
		t.Errorf("demo catalog has %d products, want about 50", len(products))
	}
	found := false
	for _, p := range products {
		if p.SKU == "WHEY-2KG-CHOC" {
			found = true
			if p.Name != "Whey Protein 2kg Chocolate" || p.Price.Currency != "INR" || p.Price.Amount <= 0 {
				t.Errorf("WHEY-2KG-CHOC = %+v", p)
			}
		}
	}
	if !found {
		t.Errorf("the demo catalog lacks WHEY-2KG-CHOC")
	}
}

func TestServeFreshDataFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s := serveInProcess(t, map[string]string{"FULFILL_LOG_LEVEL": "warn"}, "--data", dir)
	checkDemoServer(t, s)
	if _, err := os.Stat(filepath.Join(dir, "fulfill.db")); err != nil {
		t.Errorf("the database is not in the data folder: %v", err)
	}
	for _, want := range []string{"/healthz", "/metrics", "/openapi.yaml", "/v1/"} {
		if !strings.Contains(s.out.String(), s.base+want) {
			t.Errorf("start-up output does not print the URL %s%s:\n%s", s.base, want, s.out)
		}
	}
}

func TestServePostgres(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	schema := "cmd_" + randomHex(t)
	t.Cleanup(func() { dropSchema(t, url, schema) })
	s := serveInProcess(t, map[string]string{
		"FULFILL_LOG_LEVEL": "warn", "DATABASE_URL": url, "FULFILL_DATABASE_SCHEMA": schema, "FULFILL_DEMO": "true",
		"FULFILL_DATA": t.TempDir(), // the sandbox keeps its generated secret there
	})
	checkDemoServer(t, s)
	if pw := passwordOf(url); pw != "" && strings.Contains(s.out.String(), ":"+pw+"@") {
		t.Errorf("the printed configuration shows the database password:\n%s", s.out)
	}
}

// postgresURL returns FULFILL_TEST_POSTGRES_URL or skips (fails under CI).
func postgresURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("FULFILL_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FULFILL_TEST_POSTGRES_URL is not set, and CI=true requires the PostgreSQL tests")
		}
		t.Skip("set FULFILL_TEST_POSTGRES_URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

func passwordOf(raw string) string {
	rest, ok := strings.CutPrefix(raw, "postgres://")
	if !ok {
		rest, _ = strings.CutPrefix(raw, "postgresql://")
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

func dropSchema(t *testing.T, url, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Logf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Logf("drop schema %s: %v", schema, err)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestKeysCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"FULFILL_DATA": dir, "FULFILL_LOG_LEVEL": "warn"}
	out, err := runCmd(t, vars, "keys", "create", "--role", "merchant", "--name", "shop front")
	if err != nil {
		t.Fatal(err)
	}
	secret := lastLine(out)
	if strings.ContainsAny(secret, " \t") || len(secret) < 20 {
		t.Fatalf("the last line is not a bare secret: %q", secret)
	}
	list, err := runCmd(t, vars, "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "shop front") || !strings.Contains(list, "merchant") || strings.Contains(list, secret) {
		t.Errorf("keys list = \n%s\nwant the key's name and role and never its secret", list)
	}

	s := serveInProcess(t, vars)
	if s.key != "" {
		t.Errorf("serve printed a bootstrap key although a key exists")
	}
	if !strings.Contains(s.out.String(), "fulfill keys create --role admin") {
		t.Errorf("serve does not say how to create a key:\n%s", s.out)
	}
	products := getAll[productJSON](t, s.base+"/v1/products?limit=100", secret)
	if len(products) == 0 {
		t.Errorf("the merchant key lists no products")
	}
	receipt := map[string]any{"sku": "WHEY-2KG-CHOC", "warehouse": "BLR-1", "bin": "A-1-A-1", "quantity": 1}
	if status, body := call(t, http.MethodPost, s.base+"/v1/stock/receipts", secret, receipt); status != http.StatusForbidden {
		t.Errorf("a merchant's stock receipt = %d %s, want 403", status, body)
	}

	if _, err := runCmd(t, vars, "keys", "create", "--role", "overlord"); exitCode(err) != 2 {
		t.Errorf("keys create --role overlord: err %v, want a usage error", err)
	}
}

func TestImportReportsBadRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"FULFILL_DATA": filepath.Join(dir, "data"), "FULFILL_LOG_LEVEL": "warn"}
	csv := "sku,name,barcode,price,currency,weight_grams,length_mm,width_mm,height_mm,active\n" +
		"GOOD-1,Good Product,8904417001013,1000,INR,100,10,10,10,true\n" +
		"BAD-BARCODE,Bad Barcode,8904417001014,1000,INR,100,10,10,10,true\n" +
		"\n" +
		"BAD-PRICE,Bad Price,,-5,INR,100,10,10,10,true\n" +
		"GOOD-2,Another Good Product,,2500,INR,200,20,20,20,false\n"
	file := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, vars, "import", "products", file)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("import with bad rows: err = %v, want a failure (exit status 1)\n%s", err, out)
	}
	if !strings.Contains(err.Error(), "2 rows rejected") {
		t.Errorf("error = %v, want it to count 2 rejected rows", err)
	}
	for _, want := range []string{"products", "barcode", "price"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Line 3 is the bad barcode; line 5 the bad price (line 4 is blank).
	rejected := out[strings.Index(out, "rejected rows"):]
	for _, line := range []string{" 3 ", " 5 "} {
		if !strings.Contains(rejected, line) {
			t.Errorf("rejected rows lack line%s:\n%s", line, rejected)
		}
	}
	if !strings.Contains(out, "ROWS READ") {
		t.Errorf("no summary table:\n%s", out)
	}

	// The good rows were applied: a second import of the good ones alone
	// changes nothing.
	good := "sku,name,barcode,price,currency,weight_grams,length_mm,width_mm,height_mm,active\n" +
		"GOOD-1,Good Product,8904417001013,1000,INR,100,10,10,10,true\n"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, vars, "import", file, "products") // kind and file in either order is a usage error
	if exitCode(err) != 2 {
		t.Errorf("import FILE KIND: err = %v, want a usage error\n%s", err, out)
	}
	out, err = runCmd(t, vars, "import", "products", file)
	if err != nil {
		t.Fatalf("re-import of a good row: %v\n%s", err, out)
	}
	if row := summaryRow(out, "products"); strings.Join(row, " ") != "products 1 0 0 1 0" {
		t.Errorf("re-importing an applied row: summary row %q, want it unchanged\n%s", row, out)
	}
}

func TestImportDemoTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"FULFILL_DATA": t.TempDir(), "FULFILL_LOG_LEVEL": "warn"}
	out, err := runCmd(t, vars, "import", "--demo")
	if err != nil {
		t.Fatalf("import --demo: %v\n%s", err, out)
	}
	for _, kind := range []string{"warehouses", "bins", "products", "stock"} {
		if !strings.Contains(out, kind) {
			t.Errorf("summary lacks %s:\n%s", kind, out)
		}
	}
	out, err = runCmd(t, vars, "import", "--demo")
	if err != nil {
		t.Fatalf("second import --demo: %v\n%s", err, out)
	}
	for _, kind := range []string{"warehouses", "bins", "products", "stock"} {
		if f := summaryRow(out, kind); len(f) != 6 || f[1] != f[4] || f[2] != "0" || f[3] != "0" || f[5] != "0" {
			t.Errorf("second demo import: summary row %q, want every row unchanged\n%s", f, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"serve", "--addr", "nonsense"},
		{"serve", "--database-url", "mysql://x"},
		{"serve", "--workers", "many"},
		{"import", "gadgets", "x.csv"},
		{"keys"},
	} {
		_, err := runCmd(t, map[string]string{"FULFILL_DATA": t.TempDir()}, args...)
		if exitCode(err) != 2 {
			t.Errorf("fulfill %q: err = %v, want a usage error (exit status 2)", args, err)
		}
	}
	out, err := runCmd(t, nil, "help")
	if err != nil || !strings.Contains(out, "FULFILL_ADDR") {
		t.Errorf("help: %v\n%s", err, out)
	}
	out, err = runCmd(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "fulfill ") {
		t.Errorf("version: %v %q", err, out)
	}
}

// summaryRow returns the fields of the import summary table's row for kind.
func summaryRow(out, kind string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == kind {
			return f
		}
	}
	return nil
}
