package fulfill

import (
	"math"
	"sort"
)

// GeoPoint is a place on Earth in decimal degrees.
type GeoPoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// DistanceKM returns the great-circle (haversine) distance between a and b in
// kilometres.
func DistanceKM(a, b GeoPoint) float64 {
	const earthRadiusKM = 6371.0088
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// AllocLine is one thing to allocate: a quantity of a SKU.
type AllocLine struct {
	SKU      string
	Quantity int64
}

// Candidate is a warehouse that might serve an order.
type Candidate struct {
	Warehouse string
	Location  GeoPoint
	Active    bool
	// PastCutoff is true when the warehouse has passed today's cut-off; such
	// a warehouse still serves, but loses ties to one that ships today.
	PastCutoff bool
	// Available is the units free to reserve, by SKU.
	Available map[string]int64
}

// Allocation is the part of an order one warehouse serves for one SKU.
type Allocation struct {
	Warehouse string `json:"warehouse"`
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
}

// Plan is the outcome of allocation: which warehouse ships what.
type Plan struct {
	Allocations []Allocation
	// Warehouses are the shipments' origins, nearest first.
	Warehouses []string
	// DistanceKM is the summed distance from each origin to the customer.
	DistanceKM float64
}

// maxExactWarehouses bounds the exhaustive search for the fewest-shipment
// split; beyond it allocation falls back to a greedy cover.
const maxExactWarehouses = 16

// Allocate plans which warehouses serve an order, without touching any store.
// Rules, in order: one active warehouse that can serve every line, nearest
// first; otherwise the split with the fewest shipments, then the least total
// distance. Ties go to a warehouse before its cut-off, then to the lower code.
// Lines of the same SKU are summed. A line no combination of warehouses can
// cover gives EInsufficient naming the SKU.
func Allocate(lines []AllocLine, customer GeoPoint, candidates []Candidate) (Plan, error) {
	need, skus, err := demand(lines)
	if err != nil {
		return Plan{}, err
	}
	cands := ranked(candidates, customer)
	if sku, ok := uncoverable(need, skus, cands); !ok {
		return Plan{}, FieldErrorf(EInsufficient, "lines", "not enough stock of %s in any combination of warehouses", sku)
	}
	best := bestSubset(need, skus, cands)
	return assign(need, skus, best, customer), nil
}

// demand sums the lines per SKU and returns the SKUs in first-seen order.
func demand(lines []AllocLine) (map[string]int64, []string, error) {
	if len(lines) == 0 {
		return nil, nil, FieldErrorf(EInvalid, "lines", "at least one line is required")
	}
	need := map[string]int64{}
	var skus []string
	for _, l := range lines {
		if l.Quantity <= 0 {
			return nil, nil, FieldErrorf(EInvalid, "lines.quantity", "quantity must be positive")
		}
		if _, seen := need[l.SKU]; !seen {
			skus = append(skus, l.SKU)
		}
		need[l.SKU] += l.Quantity
	}
	return need, skus, nil
}

type rankedCand struct {
	Candidate
	dist float64
}

// ranked drops inactive warehouses and orders the rest nearest first.
func ranked(cs []Candidate, customer GeoPoint) []rankedCand {
	out := make([]rankedCand, 0, len(cs))
	for _, c := range cs {
		if c.Active {
			out = append(out, rankedCand{c, DistanceKM(customer, c.Location)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return nearer(out[i], out[j]) })
	return out
}

func nearer(a, b rankedCand) bool {
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.PastCutoff != b.PastCutoff {
		return !a.PastCutoff
	}
	return a.Warehouse < b.Warehouse
}

// uncoverable reports the first SKU that all warehouses together lack.
func uncoverable(need map[string]int64, skus []string, cs []rankedCand) (string, bool) {
	for _, s := range skus {
		var total int64
		for _, c := range cs {
			total += c.Available[s]
		}
		if total < need[s] {
			return s, false
		}
	}
	return "", true
}

// bestSubset finds the smallest set of warehouses that covers the demand,
// with the least summed distance among sets of that size. Candidates are
// ranked, so the first covering set found at each size wins distance ties
// by the ranking's order.
func bestSubset(need map[string]int64, skus []string, cs []rankedCand) []rankedCand {
	if len(cs) > maxExactWarehouses {
		return greedyCover(need, skus, cs)
	}
	for k := 1; k <= len(cs); k++ {
		var best []int
		bestDist := math.Inf(1)
		combinations(len(cs), k, func(idx []int) {
			d := 0.0
			for _, i := range idx {
				d += cs[i].dist
			}
			if d < bestDist-1e-9 && covers(need, skus, cs, idx) {
				best, bestDist = append([]int(nil), idx...), d
			}
		})
		if best != nil {
			out := make([]rankedCand, len(best))
			for i, j := range best {
				out[i] = cs[j]
			}
			return out
		}
	}
	return cs
}

// combinations calls fn with every k-subset of 0..n-1 in lexicographic order.
func combinations(n, k int, fn func([]int)) {
	idx := make([]int, k)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == k {
			fn(idx)
			return
		}
		for i := start; i <= n-(k-depth); i++ {
			idx[depth] = i
			rec(i+1, depth+1)
		}
	}
	rec(0, 0)
}

func covers(need map[string]int64, skus []string, cs []rankedCand, idx []int) bool {
	for _, s := range skus {
		var total int64
		for _, i := range idx {
			total += cs[i].Available[s]
		}
		if total < need[s] {
			return false
		}
	}
	return true
}

// greedyCover adds, nearest first, each warehouse that still contributes
// until the demand is covered. Used only when there are too many
// warehouses to search exactly.
func greedyCover(need map[string]int64, skus []string, cs []rankedCand) []rankedCand {
	left := map[string]int64{}
	for s, q := range need {
		left[s] = q
	}
	var out []rankedCand
	for _, c := range cs {
		useful := false
		for _, s := range skus {
			if left[s] > 0 && c.Available[s] > 0 {
				useful = true
				left[s] -= min(left[s], c.Available[s])
			}
		}
		if useful {
			out = append(out, c)
		}
	}
	return out
}

// assign takes each SKU from the chosen warehouses nearest first.
func assign(need map[string]int64, skus []string, chosen []rankedCand, customer GeoPoint) Plan {
	sort.SliceStable(chosen, func(i, j int) bool { return nearer(chosen[i], chosen[j]) })
	var p Plan
	used := map[string]bool{}
	for _, s := range skus {
		left := need[s]
		for _, c := range chosen {
			take := min(left, c.Available[s])
			if take <= 0 {
				continue
			}
			p.Allocations = append(p.Allocations, Allocation{Warehouse: c.Warehouse, SKU: s, Quantity: take})
			used[c.Warehouse] = true
			left -= take
		}
	}
	for _, c := range chosen {
		if used[c.Warehouse] {
			p.Warehouses = append(p.Warehouses, c.Warehouse)
			p.DistanceKM += DistanceKM(customer, c.Location)
		}
	}
	return p
}
