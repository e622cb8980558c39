package fulfill_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// module is this module's import path.
const module = "github.com/fulfill-dev/fulfill"

// pkgImports is what one package's files import, split by test and non-test
// files. Keys are import paths.
type pkgImports struct {
	code, test map[string][]string // import path → files importing it
}

// scanImports parses the import clause of every .go file in the module
// (without the go command, so a half-written package elsewhere cannot hide a
// violation) and groups the imports by package import path.
func scanImports(t *testing.T) map[string]*pkgImports {
	t.Helper()
	pkgs := map[string]*pkgImports{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			if p != "." && fileExists(filepath.Join(p, "go.mod")) {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		ip := module
		if dir := filepath.ToSlash(filepath.Dir(p)); dir != "." {
			ip = module + "/" + dir
		}
		pi := pkgs[ip]
		if pi == nil {
			pi = &pkgImports{code: map[string][]string{}, test: map[string][]string{}}
			pkgs[ip] = pi
		}
		into := pi.code
		if strings.HasSuffix(name, "_test.go") {
			into = pi.test
		}
		for _, im := range f.Imports {
			v, err := strconv.Unquote(im.Path.Value)
			if err != nil {
				return err
			}
			into[v] = append(into[v], p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan the module: %v", err)
	}
	return pkgs
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// isStd reports whether an import path is in the standard library: its
// first element has no dot (and it is not this module).
func isStd(ip string) bool {
	first, _, _ := strings.Cut(ip, "/")
	return !strings.Contains(first, ".")
}

// internalPkg returns "app" for …/internal/app, "gateway/sandbox" for
// …/internal/gateway/sandbox, or "" for anything not under internal/.
func internalPkg(ip string) string {
	rest, ok := strings.CutPrefix(ip, module+"/internal/")
	if !ok {
		return ""
	}
	return rest
}

// topInternal is the first element of an internal package: "gateway" for
// "gateway/sandbox". Packages under one top folder form one adapter family
// and may import each other (a shared client, say).
func topInternal(p string) string {
	top, _, _ := strings.Cut(p, "/")
	return top
}

// allowedFor returns the module packages that non-test code of package ip
// may import, or nil when any is allowed (cmd/…).
//
//   - the root package (the domain vocabulary) imports only the standard
//     library;
//   - internal/app (the use cases) imports only the root package;
//   - internal/queue (River glue shared by both engines) imports only the
//     root package;
//   - every other internal package is an adapter: it imports the root
//     package and internal/queue, and packages of its own family, never
//     another adapter (no engine imports the other's package) and never
//     internal/app, except internal/httpapi, which serves the app's use
//     cases over HTTP and so needs internal/app;
//   - demo holds only embedded data and imports nothing of the module;
//   - cmd/fulfill wires everything together and may import anything.
func allowedFor(ip string) func(dep string) bool {
	switch {
	case ip == module, ip == module+"/demo":
		return func(string) bool { return false }
	case strings.HasPrefix(ip, module+"/cmd/"):
		return nil
	}
	p := internalPkg(ip)
	switch p {
	case "app", "queue":
		return func(dep string) bool { return dep == module }
	}
	return func(dep string) bool {
		d := internalPkg(dep)
		switch {
		case dep == module, d == "queue":
			return true
		case d == "app":
			return p == "httpapi"
		case d != "" && topInternal(d) == topInternal(p):
			return true
		}
		return false
	}
}

// TestDependencyRules enforces CONVENTIONS.md's dependency rules on every
// package's non-test imports.
func TestDependencyRules(t *testing.T) {
	t.Parallel()
	pkgs := scanImports(t)
	for _, must := range []string{module, module + "/internal/queue", module + "/cmd/fulfill", module + "/demo"} {
		if pkgs[must] == nil {
			t.Fatalf("the scan did not find %s: is the test running at the module root?", must)
		}
	}
	for _, ip := range sortedKeys(pkgs) {
		allowed := allowedFor(ip)
		for _, dep := range sortedKeys(pkgs[ip].code) {
			files := pkgs[ip].code[dep]
			switch {
			case strings.HasPrefix(dep, module+"/cmd/"):
				t.Errorf("%s imports %s (%v): nothing imports a command", ip, dep, files)
			case allowed == nil:
			case strings.HasPrefix(dep, module+"/") || dep == module:
				if !allowed(dep) {
					t.Errorf("%s imports %s (%v): not allowed by CONVENTIONS.md's dependency rules", ip, dep, files)
				}
			case !isStd(dep) && (ip == module || internalPkg(ip) == "app" || ip == module+"/demo"):
				t.Errorf("%s imports %s (%v): this package may import only the standard library and the domain package", ip, dep, files)
			}
		}
	}
}

// TestTestHelpersOnlyInTests checks that the conformance suite, and every
// other test-helper or fake package, is imported from _test.go files only
// (a helper may use another helper: a fake may build on gatewaytest).
func TestTestHelpersOnlyInTests(t *testing.T) {
	t.Parallel()
	pkgs := scanImports(t)
	for _, ip := range sortedKeys(pkgs) {
		if isTestHelper(ip) {
			continue
		}
		for dep, files := range pkgs[ip].code {
			if isTestHelper(dep) {
				t.Errorf("%s imports the test helper %s from non-test files %v", ip, dep, files)
			}
		}
	}
}

// isTestHelper reports whether ip is a package of test helpers: a
// conformance suite named *test (storetest, gatewaytest) or a fake named
// *fake (stripefake).
func isTestHelper(ip string) bool {
	base := path.Base(ip)
	return internalPkg(ip) != "" && (strings.HasSuffix(base, "test") || strings.HasSuffix(base, "fake"))
}

// TestRulesRejectViolations guards the rules themselves: a checker that
// allowed everything would pass silently.
func TestRulesRejectViolations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pkg, dep string
		ok       bool
	}{
		{module, module + "/internal/queue", false},
		{module + "/internal/app", module, true},
		{module + "/internal/app", module + "/internal/sqlite", false},
		{module + "/internal/sqlite", module + "/internal/postgres", false},
		{module + "/internal/postgres", module + "/internal/sqlite", false},
		{module + "/internal/sqlite", module + "/internal/queue", true},
		{module + "/internal/sqlite", module + "/internal/app", false},
		{module + "/internal/httpapi", module + "/internal/app", true},
		{module + "/internal/httpapi", module + "/internal/sqlite", false},
		{module + "/internal/gateway/stripe", module + "/internal/gateway", true},
		{module + "/internal/gateway/stripe", module + "/internal/carrier", false},
		{module + "/internal/queue", module + "/internal/sqlite", false},
	}
	for _, c := range cases {
		if got := allowedFor(c.pkg)(c.dep); got != c.ok {
			t.Errorf("%s importing %s: allowed = %v, want %v", c.pkg, c.dep, got, c.ok)
		}
	}
	if allowedFor(module+"/cmd/fulfill") != nil {
		t.Error("cmd/fulfill must be allowed to import everything")
	}
	if !isTestHelper(module+"/internal/storetest") || !isTestHelper(module+"/internal/gateway/stripe/stripefake") ||
		isTestHelper(module+"/internal/sqlite") {
		t.Error("isTestHelper misclassifies storetest, stripefake or sqlite")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
