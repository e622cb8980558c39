package fulfill_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/fulfill-dev/fulfill"
)

var (
	blr = fulfill.GeoPoint{Lat: 12.9716, Lon: 77.5946} // Bengaluru
	del = fulfill.GeoPoint{Lat: 28.4595, Lon: 77.0266} // Gurugram
	mum = fulfill.GeoPoint{Lat: 19.2813, Lon: 73.0483} // Bhiwandi
	mys = fulfill.GeoPoint{Lat: 12.2958, Lon: 76.6394} // Mysuru, near Bengaluru
)

func cand(code string, at fulfill.GeoPoint, stock map[string]int64) fulfill.Candidate {
	return fulfill.Candidate{Warehouse: code, Location: at, Active: true, Available: stock}
}

func TestDistanceKM(t *testing.T) {
	t.Parallel()
	// Bengaluru–Gurugram is about 1,740 km by great circle.
	if d := fulfill.DistanceKM(blr, del); math.Abs(d-1740) > 20 {
		t.Fatalf("BLR–DEL = %.0f km", d)
	}
	if d := fulfill.DistanceKM(blr, blr); d != 0 {
		t.Fatalf("same point = %v", d)
	}
}

func TestAllocate(t *testing.T) {
	t.Parallel()
	type L = fulfill.AllocLine
	type A = fulfill.Allocation
	tests := []struct {
		name     string
		lines    []L
		customer fulfill.GeoPoint
		cands    []fulfill.Candidate
		want     []A
		wantErr  fulfill.ErrorCode
	}{
		{
			name: "nearest warehouse that has everything", lines: []L{{"A", 1}, {"B", 2}}, customer: mys,
			cands: []fulfill.Candidate{cand("DEL", del, map[string]int64{"A": 5, "B": 5}), cand("BLR", blr, map[string]int64{"A": 5, "B": 5})},
			want:  []A{{"BLR", "A", 1}, {"BLR", "B", 2}},
		},
		{
			name: "one farther warehouse beats a split across nearer ones", lines: []L{{"A", 1}, {"B", 1}}, customer: blr,
			cands: []fulfill.Candidate{cand("BLR", blr, map[string]int64{"A": 5}), cand("MUM", mum, map[string]int64{"B": 5}), cand("DEL", del, map[string]int64{"A": 1, "B": 1})},
			want:  []A{{"DEL", "A", 1}, {"DEL", "B", 1}},
		},
		{
			name: "split with fewest shipments then least distance", lines: []L{{"A", 1}, {"B", 1}}, customer: blr,
			cands: []fulfill.Candidate{cand("DEL", del, map[string]int64{"B": 5}), cand("BLR", blr, map[string]int64{"A": 5}), cand("MUM", mum, map[string]int64{"B": 5})},
			want:  []A{{"BLR", "A", 1}, {"MUM", "B", 1}},
		},
		{
			name: "one line split when no warehouse has the quantity", lines: []L{{"A", 7}}, customer: blr,
			cands: []fulfill.Candidate{cand("DEL", del, map[string]int64{"A": 5}), cand("BLR", blr, map[string]int64{"A": 4})},
			want:  []A{{"BLR", "A", 4}, {"DEL", "A", 3}},
		},
		{
			name: "lines of the same SKU are summed (bundle)", lines: []L{{"A", 2}, {"A", 2}}, customer: blr,
			cands: []fulfill.Candidate{cand("BLR", blr, map[string]int64{"A": 3}), cand("MUM", mum, map[string]int64{"A": 4})},
			want:  []A{{"MUM", "A", 4}},
		},
		{
			name: "inactive warehouse is skipped", lines: []L{{"A", 1}}, customer: blr,
			cands: []fulfill.Candidate{{Warehouse: "BLR", Location: blr, Available: map[string]int64{"A": 9}}, cand("MUM", mum, map[string]int64{"A": 1})},
			want:  []A{{"MUM", "A", 1}},
		},
		{
			name: "equal distance: before cut-off wins", lines: []L{{"A", 1}}, customer: blr,
			cands: []fulfill.Candidate{cand("X1", mum, map[string]int64{"A": 1}), func() fulfill.Candidate {
				c := cand("X0", mum, map[string]int64{"A": 1})
				c.PastCutoff = true
				return c
			}()},
			want: []A{{"X1", "A", 1}},
		},
		{
			name: "equal distance and cut-off: lower code wins", lines: []L{{"A", 1}}, customer: blr,
			cands: []fulfill.Candidate{cand("W2", mum, map[string]int64{"A": 1}), cand("W1", mum, map[string]int64{"A": 1})},
			want:  []A{{"W1", "A", 1}},
		},
		{
			name: "not enough anywhere", lines: []L{{"A", 3}}, customer: blr,
			cands:   []fulfill.Candidate{cand("BLR", blr, map[string]int64{"A": 1}), cand("MUM", mum, map[string]int64{"A": 1})},
			wantErr: fulfill.EInsufficient,
		},
		{
			name: "no lines", customer: blr, wantErr: fulfill.EInvalid,
		},
		{
			name: "zero quantity", lines: []L{{"A", 0}}, customer: blr, wantErr: fulfill.EInvalid,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan, err := fulfill.Allocate(tc.lines, tc.customer, tc.cands)
			if tc.wantErr != "" {
				if err == nil || err.(*fulfill.Error).Code != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.Allocations, tc.want) {
				t.Fatalf("allocations = %v, want %v", plan.Allocations, tc.want)
			}
		})
	}
}

func TestAllocateManyWarehousesFallsBackToGreedy(t *testing.T) {
	t.Parallel()
	var cs []fulfill.Candidate
	for i := 0; i < 20; i++ {
		at := fulfill.GeoPoint{Lat: 10 + float64(i), Lon: 77}
		cs = append(cs, cand(string(rune('a'+i)), at, map[string]int64{"A": 1}))
	}
	plan, err := fulfill.Allocate([]fulfill.AllocLine{{SKU: "A", Quantity: 3}}, fulfill.GeoPoint{Lat: 10, Lon: 77}, cs)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Warehouses; !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("warehouses = %v", got)
	}
}
