package app_test

import (
	"testing"

	"github.com/fulfill-dev/fulfill/demo"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// TestLoadRealDemo loads the shipped demo files: no row is rejected, and
// loading them again changes nothing.
func TestLoadRealDemo(t *testing.T) {
	t.Parallel()
	a, _ := newApp(t)
	reps, err := a.LoadDemo(t.Context(), demo.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if len(r.Rejected) != 0 || r.Created == 0 {
			t.Errorf("%s: %+v", r.Kind, r)
		}
	}
	again, err := a.LoadDemo(t.Context(), demo.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Unchanged != r.RowsRead || r.Created+r.Updated != 0 {
			t.Errorf("second load of %s changed something: %+v", r.Kind, r)
		}
	}
	if err := a.AuditStock(t.Context(), app.AuditStockArgs{}); err != nil {
		t.Fatalf("audit after demo: %v", err)
	}
}
