package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEveryJobKindIsHandled: every job kind the code can queue has a
// handler in the binary's registry. A kind without one can't be queued at
// all (River refuses the insert and the transaction's work with it), so a
// forgotten registration stops the stage that queues it; this test finds
// the kinds in the source (every Kind method that returns a literal)
// rather than trusting a list kept by hand.
func TestEveryJobKindIsHandled(t *testing.T) {
	t.Parallel()
	kinds := map[string]string{} // kind → where its Kind method is
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// storetest's jobs exist only for the conformance suite.
			if name := d.Name(); name == "storetest" || name == "testdata" || strings.HasPrefix(name, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Kind" || fn.Body == nil || len(fn.Body.List) != 1 {
				continue
			}
			ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
			if !ok || len(ret.Results) != 1 {
				continue
			}
			lit, ok := ret.Results[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			kind, err := strconv.Unquote(lit.Value)
			if err != nil {
				return err
			}
			kinds[kind] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) < 10 {
		t.Fatalf("found only %d job kinds in the source (%v): is the scan broken?", len(kinds), kinds)
	}
	reg := registerJobs(&node{}, time.Hour, time.Hour)
	for kind, path := range kinds {
		if !reg.Handles(kind) {
			t.Errorf("job kind %q (%s) has no handler in registerJobs", kind, path)
		}
	}
}
