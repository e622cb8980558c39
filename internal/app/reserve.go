package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// Reservation decisions.
//
// Who wins: the payment stage (payments.go) applies webhook events in the
// order of the gateway's confirmation time, then arrival, under
// Tx.LockAllocator, and decides each newly paid order's stock at once in
// that order; so when 300 shoppers pay for 100 units, the 100 earliest
// confirmations get them.
//
// How: a reserver belongs to one transaction. It loads each SKU's bin stock
// once (BinStocks) and keeps a running count of what is still available as
// it reserves, so that a batch of 500 orders costs one stock query per SKU.
// Every reservation is still a guarded MoveStock (the store's atomic
// conditional update), so the running count can only make a decision
// stale, never oversell: when a MoveStock is refused (another process
// changed the stock), the order's units reserved so far are released, the
// SKUs reloaded and the order planned again.
//
// Out-of-stock policy: a product's OutOfStockPolicy, else
// Options.DefaultPolicy. An order is backordered only when every line that
// is short allows backorder; otherwise its payment is reversed and the
// order cancelled with cause out_of_stock. A reversal can only be done the
// way the capture mode allows, so "void" and "refund" both mean "reverse
// the payment": an authorization (manual capture) is voided, a captured
// payment (automatic capture) is refunded and the order ends refunded.

// Notification events of the inventory stage.
const (
	EventOrderPaid          = "order.paid"
	EventOrderPaymentFailed = "order.payment_failed"
	EventOrderException     = "order.exception"
	EventOrderReserved      = "order.reserved"
	EventOrderOutOfStock    = "order.cancelled.out_of_stock"
	EventOrderCancelled     = "order.cancelled"
	EventOrderRefunded      = "order.refunded"
	EventOrderBackordered   = "order.backordered"
	EventPaymentDisputed    = "payment.disputed"
	EventPaymentRefunded    = "payment.refunded"
	EventStockLow           = "stock.low"
)

// CauseOutOfStock is the timeline cause of an order cancelled for want of
// stock.
const CauseOutOfStock = "out_of_stock"

// maxReplans bounds how often one order is planned again after a refused
// MoveStock before the batch gives up (and its job retries).
const maxReplans = 3

// errStaleCounts fails a batch whose deferred stock movements were refused
// (stock changed outside the allocator lock): it is run again unbuffered.
var errStaleCounts = errors.New("stock changed under the batch's running counts")

// errUnchanged aborts an UpdateOrder whose order needs no change.
var errUnchanged = errors.New("order unchanged")

// skuWh addresses one SKU in one warehouse.
type skuWh struct{ sku, wh string }

// binAvail is the running available count of one SKU in one bin.
type binAvail struct {
	wh, bin string
	avail   int64
}

// reserver decides stock for orders inside one transaction.
type reserver struct {
	// paidInBatch names the orders (by id, or provider/intent) that have a
	// success among the events this batch applies.
	paidInBatch map[string]bool
	a           *App
	tx          fulfill.Tx
	now         time.Time
	whs         map[string]fulfill.Warehouse
	codes       []string
	late        map[string]bool
	bins        map[string][]*binAvail
	products    map[string]*fulfill.Product
	touched     map[skuWh]bool
	// inactive names the bins ("warehouse/code") whose stock is not
	// reserved: a bin taken out of use keeps its stock but serves nobody.
	inactive map[string]bool
	// loads counts per-SKU stock reads; all is set once every SKU's stock
	// was read in one query (a SKU still missing then has no stock rows).
	loads int
	all   bool
	// later collects gateway calls by action (void, refund, capture), queued
	// as one payment_actions job per action when the batch finishes: one
	// job insert per batch instead of one per order.
	later map[PaymentAction][]string
	// orders holds the orders this transaction loaded (locked) and saved,
	// as saved: update works on them with Tx.SaveOrder instead of loading
	// each again through Tx.UpdateOrder.
	orders map[string]*fulfill.Order
	// processed lists the events to mark processed in one statement when
	// the batch finishes (ignored ones carry a reason and are marked one by
	// one).
	processed []string
	// buffered defers the batch's writes that nothing in it reads back
	// (order saves, reservation rows, notifications) to flush, which
	// writes each kind in one call: a few round trips per batch instead of
	// several per order. Reads that could see them flush first.
	buffered bool
	// bufferMoves (with buffered) defers the reservations' stock movements
	// too: they are applied, still guarded, by one MoveStocks at the flush.
	// A refused one there fails the whole batch with errStaleCounts, and
	// the caller runs it again unbuffered (one guarded move at a time, with
	// re-planning).
	bufferMoves bool
	moves       []fulfill.StockMovement
	saves       []fulfill.OrderSave
	saveAt      map[string]int // index in saves by order id
	resv        []fulfill.Reservation
	notes       []*fulfill.Notification
}

// newReserver loads the warehouses once for the transaction.
func (a *App) newReserver(ctx context.Context, tx fulfill.Tx) (*reserver, error) {
	r := &reserver{a: a, tx: tx, now: a.clock.Now(), whs: map[string]fulfill.Warehouse{},
		late: map[string]bool{}, bins: map[string][]*binAvail{},
		products: map[string]*fulfill.Product{}, touched: map[skuWh]bool{},
		later: map[PaymentAction][]string{}, orders: map[string]*fulfill.Order{},
		saveAt: map[string]int{}}
	page := fulfill.Page{Limit: 1000}
	for {
		ws, err := tx.ListWarehouses(ctx, page, nil)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			r.whs[w.Code] = w
			r.codes = append(r.codes, w.Code)
			r.late[w.Code] = pastCutoff(w, r.now)
		}
		if len(ws) < page.Limit {
			break
		}
		page.After = ws[len(ws)-1].Code
	}
	sort.Strings(r.codes)
	off, err := tx.InactiveBins(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range off {
		if r.inactive == nil {
			r.inactive = map[string]bool{}
		}
		r.inactive[b.Warehouse+"/"+b.Code] = true
	}
	return r, nil
}

// usable reports whether stock in bin b may be reserved.
func (r *reserver) usable(b fulfill.BinStock) bool {
	return !r.inactive[b.Warehouse+"/"+b.Bin]
}

// pastCutoff reports whether w has passed today's cut-off at now, in its
// own time zone. A warehouse with a bad zone or cut-off counts as before.
func pastCutoff(w fulfill.Warehouse, now time.Time) bool {
	loc, err := location(w.TimeZone)
	if err != nil || len(w.CutoffTime) != 5 {
		return false
	}
	h, err1 := strconv.Atoi(w.CutoffTime[:2])
	m, err2 := strconv.Atoi(w.CutoffTime[3:])
	if err1 != nil || err2 != nil {
		return false
	}
	local := now.In(loc)
	return local.Hour()*60+local.Minute() >= h*60+m
}

// locations caches time.LoadLocation, which reads the zone's file on
// every call (a payment batch asks for every warehouse's zone).
var locations sync.Map // zone name → *time.Location

func location(zone string) (*time.Location, error) {
	if l, ok := locations.Load(zone); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(zone)
	if err != nil {
		return nil, err
	}
	locations.Store(zone, l)
	return l, nil
}

// perSKULoads is how many SKUs a reserver reads one by one before it
// reads the stock of every SKU in one query instead: a batch over many
// SKUs then costs one round trip, not one per SKU.
const perSKULoads = 32

// ensure loads the bin stock of every SKU not loaded yet (all of them when
// force).
func (r *reserver) ensure(ctx context.Context, skus []string, force bool) error {
	if !force && !r.all && r.loads >= perSKULoads && r.missing(skus) {
		if err := r.loadAll(ctx); err != nil {
			return err
		}
	}
	for _, sku := range skus {
		if _, ok := r.bins[sku]; ok && !force {
			continue
		}
		if r.all && !force {
			r.bins[sku] = nil // read with every SKU: it has no stock
			continue
		}
		rows, err := r.tx.BinStocks(ctx, fulfill.StockFilter{SKU: sku})
		if err != nil {
			return err
		}
		bs := make([]*binAvail, 0, len(rows))
		for _, b := range rows {
			if b.SKU == sku && r.usable(b) {
				bs = append(bs, &binAvail{wh: b.Warehouse, bin: b.Bin, avail: b.Available})
			}
		}
		r.bins[sku] = bs
		r.loads++
	}
	return nil
}

// missing reports whether any of skus is not loaded.
func (r *reserver) missing(skus []string) bool {
	for _, s := range skus {
		if _, ok := r.bins[s]; !ok {
			return true
		}
	}
	return false
}

// loadAll reads the stock of every SKU not loaded yet in one query; SKUs
// without stock rows are then known to have none.
func (r *reserver) loadAll(ctx context.Context) error {
	rows, err := r.tx.BinStocks(ctx, fulfill.StockFilter{})
	if err != nil {
		return err
	}
	fresh := map[string][]*binAvail{}
	for _, b := range rows {
		if _, ok := r.bins[b.SKU]; !ok && r.usable(b) {
			fresh[b.SKU] = append(fresh[b.SKU], &binAvail{wh: b.Warehouse, bin: b.Bin, avail: b.Available})
		}
	}
	for sku, bs := range fresh {
		r.bins[sku] = bs
	}
	r.all = true
	return nil
}

// forget drops SKUs from the running counts so that they are read again.
func (r *reserver) forget(skus ...string) {
	for _, s := range skus {
		delete(r.bins, s)
	}
	r.all = false // forgotten SKUs must be read again, one by one
}

// available is the running count of sku in warehouse wh.
func (r *reserver) available(sku, wh string) int64 {
	var n int64
	for _, b := range r.bins[sku] {
		if b.wh == wh {
			n += b.avail
		}
	}
	return n
}

// allocLines turns order lines into allocation lines, and lists the SKUs.
func allocLines(lines []fulfill.OrderLine) ([]fulfill.AllocLine, []string) {
	out := make([]fulfill.AllocLine, len(lines))
	var skus []string
	seen := map[string]bool{}
	for i, l := range lines {
		out[i] = fulfill.AllocLine{SKU: l.SKU, Quantity: l.Quantity}
		if !seen[l.SKU] {
			seen[l.SKU] = true
			skus = append(skus, l.SKU)
		}
	}
	return out, skus
}

// candidates lists the warehouses that hold any of skus, with the running
// counts.
func (r *reserver) candidates(skus []string) []fulfill.Candidate {
	byWh := map[string]map[string]int64{}
	for _, sku := range skus {
		for _, b := range r.bins[sku] {
			if b.avail <= 0 {
				continue
			}
			if byWh[b.wh] == nil {
				byWh[b.wh] = map[string]int64{}
			}
			byWh[b.wh][sku] += b.avail
		}
	}
	out := make([]fulfill.Candidate, 0, len(byWh))
	for _, code := range r.codes {
		avail, ok := byWh[code]
		if !ok {
			continue
		}
		w := r.whs[code]
		out = append(out, fulfill.Candidate{Warehouse: code, Location: fulfill.GeoPoint{Lat: w.Latitude, Lon: w.Longitude},
			Active: w.Active, PastCutoff: r.late[code], Available: avail})
	}
	return out
}

// shortSKUs lists the SKUs of lines that the active candidates together
// can't cover.
func shortSKUs(lines []fulfill.AllocLine, cands []fulfill.Candidate) []string {
	need := map[string]int64{}
	var order []string
	for _, l := range lines {
		if _, ok := need[l.SKU]; !ok {
			order = append(order, l.SKU)
		}
		need[l.SKU] += l.Quantity
	}
	var short []string
	for _, sku := range order {
		var have int64
		for _, c := range cands {
			if c.Active {
				have += c.Available[sku]
			}
		}
		if have < need[sku] {
			short = append(short, sku)
		}
	}
	return short
}

// locate finds the customer: the address's coordinates, else the longest
// matching postal-code prefix of Options.PostalPrefixes, else the
// location of Options.DefaultWarehouse, else (0, 0).
func (r *reserver) locate(o *fulfill.Order) fulfill.GeoPoint {
	ad := o.ShippingAddress
	if ad.Lat != 0 || ad.Lon != 0 {
		return fulfill.GeoPoint{Lat: ad.Lat, Lon: ad.Lon}
	}
	if p, ok := postalPoint(r.a.opts.PostalPrefixes, ad.PostalCode); ok {
		return p
	}
	if w, ok := r.whs[r.a.opts.DefaultWarehouse]; ok {
		return fulfill.GeoPoint{Lat: w.Latitude, Lon: w.Longitude}
	}
	return fulfill.GeoPoint{}
}

// postalPoint returns the point of the longest prefix of code in table,
// ignoring spaces and case.
func postalPoint(table map[string]fulfill.GeoPoint, code string) (fulfill.GeoPoint, bool) {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }
	code = norm(code)
	best, found, bestLen := fulfill.GeoPoint{}, false, 0
	for prefix, p := range table {
		np := norm(prefix)
		if np != "" && strings.HasPrefix(code, np) && len(np) > bestLen {
			best, found, bestLen = p, true, len(np)
		}
	}
	return best, found
}

// taken is units reserved in one bin during one attempt.
type taken struct {
	sku, wh, bin string
	n            int64
}

// reserve plans o's lines and reserves them bin by bin as kind (with the
// expiry of a hold). It returns the plan, or the short SKUs when the stock
// can't cover the order (nothing reserved then).
func (r *reserver) reserve(ctx context.Context, o *fulfill.Order, kind fulfill.ReservationKind, exp *time.Time) (fulfill.Plan, []string, error) {
	lines, skus := allocLines(o.Lines)
	for attempt := 1; ; attempt++ {
		if err := r.ensure(ctx, skus, false); err != nil {
			return fulfill.Plan{}, nil, err
		}
		cands := r.candidates(skus)
		plan, err := fulfill.Allocate(lines, r.locate(o), cands)
		if fulfill.IsCode(err, fulfill.EInsufficient) {
			return fulfill.Plan{}, shortSKUs(lines, cands), nil
		}
		if err != nil {
			return fulfill.Plan{}, nil, err
		}
		made, err := r.take(ctx, o.ID, plan, kind, exp)
		if err == nil {
			return plan, nil, nil
		}
		if !fulfill.IsCode(err, fulfill.EInsufficient) {
			return fulfill.Plan{}, nil, err
		}
		if uerr := r.undo(ctx, o.ID, kind, made); uerr != nil {
			return fulfill.Plan{}, nil, uerr
		}
		r.forget(skus...)
		if attempt >= maxReplans {
			return fulfill.Plan{}, nil, err
		}
	}
}

// take reserves a plan bin by bin, in pick-sequence order, and returns
// what it reserved (also when it fails part way).
func (r *reserver) take(ctx context.Context, orderID string, plan fulfill.Plan, kind fulfill.ReservationKind, exp *time.Time) ([]taken, error) {
	var made []taken
	for _, al := range plan.Allocations {
		left := al.Quantity
		for _, b := range r.bins[al.SKU] {
			if left == 0 {
				break
			}
			if b.wh != al.Warehouse || b.avail <= 0 {
				continue
			}
			n := min(left, b.avail)
			if err := r.reserveBin(ctx, orderID, al.SKU, b, n, kind, exp); err != nil {
				return made, err
			}
			made = append(made, taken{al.SKU, b.wh, b.bin, n})
			left -= n
		}
		if left > 0 { // the running counts disagree with the plan: read again
			return made, fulfill.Errorf(fulfill.EInsufficient, "stock of %s in %s changed", al.SKU, al.Warehouse)
		}
	}
	return made, nil
}

// reserveBin moves n units of sku in bin b to reserved and records whose
// they are.
func (r *reserver) reserveBin(ctx context.Context, orderID, sku string, b *binAvail, n int64, kind fulfill.ReservationKind, exp *time.Time) error {
	cause := "order " + orderID
	if kind == fulfill.ReservationHold {
		cause = "hold for order " + orderID
	}
	m := fulfill.StockMovement{SKU: sku, Warehouse: b.wh, Bin: b.bin,
		Kind: fulfill.MoveReservation, ReservedDelta: n, Cause: cause, Actor: ActorSystem, At: r.now}
	if r.buffered && r.bufferMoves {
		r.moves = append(r.moves, m)
	} else if _, err := r.tx.MoveStock(ctx, m); err != nil {
		return err
	}
	b.avail -= n
	r.touched[skuWh{sku, b.wh}] = true
	res := fulfill.Reservation{OrderID: orderID, SKU: sku, Warehouse: b.wh, Bin: b.bin,
		Quantity: n, Kind: kind, ExpiresAt: exp, CreatedAt: r.now}
	if r.buffered {
		r.resv = append(r.resv, res)
		return nil
	}
	return r.tx.AddReservation(ctx, res)
}

// undo releases the units of a failed attempt and forgets their rows.
func (r *reserver) undo(ctx context.Context, orderID string, kind fulfill.ReservationKind, made []taken) error {
	if err := r.flush(ctx); err != nil { // the rows to delete may be buffered
		return err
	}
	for _, t := range made {
		_, err := r.tx.MoveStock(ctx, fulfill.StockMovement{SKU: t.sku, Warehouse: t.wh, Bin: t.bin,
			Kind: fulfill.MoveRelease, ReservedDelta: -t.n, Cause: "order " + orderID + ": re-plan",
			Actor: ActorSystem, At: r.now})
		if err != nil {
			return err
		}
	}
	_, err := r.tx.DeleteReservations(ctx, orderID, kind)
	return err
}

// followUp is what an order's change queues once it is saved: a
// notification, jobs for the next stage, a release of its stock.
type followUp struct {
	order   *fulfill.Order
	event   string
	cause   string
	jobs    []fulfill.JobArgs
	release string // release the order's stock with this cause
	// ignored says the event had no effect, and why.
	ignored string
}

// settle decides stock for o, which is paid (or backordered, when
// fromBackorder) and loaded by UpdateOrder, and moves it on: reserved, or
// by its out-of-stock policy. It returns errUnchanged for a backordered
// order that still can't be served.
func (r *reserver) settle(ctx context.Context, o *fulfill.Order, fu *followUp, fromBackorder bool) error {
	fu.order = o
	held, err := r.useHolds(ctx, o)
	if err != nil {
		return err
	}
	cause := "stock reserved"
	if held {
		cause = "stock reserved (checkout hold)"
	} else {
		plan, short, err := r.reserve(ctx, o, fulfill.ReservationFirm, nil)
		if err != nil {
			return err
		}
		if short != nil {
			if fromBackorder {
				return errUnchanged
			}
			return r.outOfStock(ctx, o, short, fu)
		}
		o.Allocations = plan.Allocations
	}
	if fromBackorder {
		cause = "stock received"
	}
	if err := o.Transition(fulfill.StatusReserved, cause, r.now); err != nil {
		return err
	}
	fu.event, fu.cause = EventOrderReserved, cause
	if o.Payment.Capture == fulfill.CaptureManual {
		r.later[ActionCapture] = append(r.later[ActionCapture], o.ID)
	}
	return nil
}

// outOfStock applies the policy of an order that can't be served.
func (r *reserver) outOfStock(ctx context.Context, o *fulfill.Order, short []string, fu *followUp) error {
	pol, err := r.policy(ctx, o, short)
	if err != nil {
		return err
	}
	switch pol {
	case fulfill.PolicyBackorder:
		fu.event, fu.cause = EventOrderBackordered, CauseOutOfStock+": backordered"
		return o.Transition(fulfill.StatusBackordered, fu.cause, r.now)
	case fulfill.PolicyVoid:
		r.later[ActionVoid] = append(r.later[ActionVoid], o.ID)
	default:
		r.later[ActionRefund] = append(r.later[ActionRefund], o.ID)
	}
	fu.event, fu.cause = EventOrderOutOfStock, CauseOutOfStock
	return o.Transition(fulfill.StatusCancelled, CauseOutOfStock, r.now)
}

// policy decides for an order short of the given SKUs: backorder when
// every short SKU's policy is backorder, else the reversal the capture
// mode allows (void for an authorization, refund for a capture).
func (r *reserver) policy(ctx context.Context, o *fulfill.Order, short []string) (fulfill.OutOfStockPolicy, error) {
	all := true
	for _, sku := range short {
		p, err := r.productPolicy(ctx, sku)
		if err != nil {
			return "", err
		}
		all = all && p == fulfill.PolicyBackorder
	}
	if all && len(short) > 0 {
		return fulfill.PolicyBackorder, nil
	}
	if o.Payment.Capture == fulfill.CaptureManual {
		return fulfill.PolicyVoid, nil
	}
	return fulfill.PolicyRefund, nil
}

// productPolicy is a SKU's own policy, else Options.DefaultPolicy.
func (r *reserver) productPolicy(ctx context.Context, sku string) (fulfill.OutOfStockPolicy, error) {
	p, ok := r.products[sku]
	if !ok {
		var err error
		p, err = r.tx.GetProduct(ctx, sku)
		if err != nil && !fulfill.IsCode(err, fulfill.ENotFound) {
			return "", err
		}
		r.products[sku] = p
	}
	if p != nil && p.OutOfStockPolicy.Valid() {
		return p.OutOfStockPolicy, nil
	}
	return r.a.opts.DefaultPolicy, nil
}

// update runs fn on order id and saves what it changed: through
// Tx.SaveOrder when the transaction already loaded the order (adopt), else
// under Tx.UpdateOrder. It then queues what fn asked for. errUnchanged from
// fn saves nothing but still queues the follow-up's jobs (fu.order may then
// be nil).
func (r *reserver) update(ctx context.Context, id string, fn func(*fulfill.Order, *followUp) error) (*followUp, error) {
	if o, ok := r.orders[id]; ok {
		return r.updateLoaded(ctx, o, fn)
	}
	fu := &followUp{}
	o, err := r.tx.UpdateOrder(ctx, id, func(o *fulfill.Order) error { return fn(o, fu) })
	switch {
	case errors.Is(err, errUnchanged):
		return fu, r.a.queueJobs(ctx, r.tx, fu.jobs)
	case err != nil:
		return nil, err
	}
	r.orders[id] = o // loaded locked by UpdateOrder and saved
	fu.order = o
	return fu, r.finishChange(ctx, fu)
}

// updateLoaded runs fn on a copy of an order this transaction loaded and
// saves the copy with Tx.SaveOrder (guarded on the status it had).
func (r *reserver) updateLoaded(ctx context.Context, loaded *fulfill.Order, fn func(*fulfill.Order, *followUp) error) (*followUp, error) {
	fu := &followUp{}
	o := cloneOrder(loaded)
	err := fn(o, fu)
	switch {
	case errors.Is(err, errUnchanged):
		return fu, r.a.queueJobs(ctx, r.tx, fu.jobs)
	case err != nil:
		return nil, err
	}
	o.ID = loaded.ID
	if err := r.save(ctx, loaded, o); err != nil {
		return nil, err
	}
	r.orders[o.ID] = o
	fu.order = o
	return fu, r.finishChange(ctx, fu)
}

// save saves o, changed from loaded: at once, or (buffered) at the next
// flush, merged with an earlier unflushed save of the same order.
func (r *reserver) save(ctx context.Context, loaded, o *fulfill.Order) error {
	changed := !slices.Equal(loaded.Allocations, o.Allocations)
	if i, ok := r.saveAt[o.ID]; ok && r.buffered {
		r.saves[i].Order = o
		r.saves[i].AllocationsChanged = r.saves[i].AllocationsChanged || changed
		return nil
	}
	s := fulfill.OrderSave{Order: o, LoadedStatus: loaded.Status, LoadedTimeline: len(loaded.Timeline),
		AllocationsChanged: changed}
	if !r.buffered {
		return r.tx.SaveOrders(ctx, []fulfill.OrderSave{s})
	}
	r.saveAt[o.ID] = len(r.saves)
	r.saves = append(r.saves, s)
	return nil
}

// flush writes what the batch buffered: order saves, then reservation
// rows, then notifications, each kind in one call.
func (r *reserver) flush(ctx context.Context) error {
	if len(r.moves) > 0 {
		err := r.tx.MoveStocks(ctx, r.moves)
		if fulfill.IsCode(err, fulfill.EInsufficient) {
			return fmt.Errorf("%w: %w", errStaleCounts, err)
		}
		if err != nil {
			return err
		}
		r.moves = nil
	}
	if len(r.saves) > 0 {
		if err := r.tx.SaveOrders(ctx, r.saves); err != nil {
			return err
		}
		r.saves, r.saveAt = nil, map[string]int{}
	}
	if len(r.resv) > 0 {
		if err := r.tx.AddReservations(ctx, r.resv); err != nil {
			return err
		}
		r.resv = nil
	}
	if len(r.notes) > 0 {
		if err := r.tx.AddNotifications(ctx, r.notes); err != nil {
			return err
		}
		r.notes = nil
	}
	return nil
}

// finishChange is App.finishChange with the reserver's buffers: the
// release (which reads reservations) flushes first, the notification is
// buffered.
func (r *reserver) finishChange(ctx context.Context, fu *followUp) error {
	if fu.release != "" {
		if err := r.flush(ctx); err != nil {
			return err
		}
		if err := r.a.ReleaseOrder(ctx, r.tx, fu.order, fu.release); err != nil {
			return err
		}
	}
	if fu.event != "" {
		if err := r.notify(ctx, fu.order, fu.event, fu.cause, ""); err != nil {
			return err
		}
	}
	return r.a.queueJobs(ctx, r.tx, fu.jobs)
}

// notify is App.notify, buffered when the reserver is.
func (r *reserver) notify(ctx context.Context, o *fulfill.Order, event, cause, suffix string) error {
	if !r.buffered {
		return r.a.notify(ctx, r.tx, o, event, cause, suffix)
	}
	n, err := r.a.notification(o, event, cause, suffix)
	if err != nil {
		return err
	}
	r.notes = append(r.notes, n)
	return nil
}

// adopt remembers orders this transaction loaded locked, so that update
// saves them without loading them again, and reads the stock of their SKUs
// not read yet in one query (a batch would otherwise read them one by one
// as it decides each order).
func (r *reserver) adopt(ctx context.Context, orders []fulfill.Order) error {
	var skus []string
	seen := map[string]bool{}
	for i := range orders {
		if _, ok := r.orders[orders[i].ID]; !ok {
			r.orders[orders[i].ID] = &orders[i]
		}
		for _, l := range orders[i].Lines {
			if _, ok := r.bins[l.SKU]; !ok && !seen[l.SKU] {
				seen[l.SKU] = true
				skus = append(skus, l.SKU)
			}
		}
	}
	if len(skus) < 2 || r.all {
		return nil // ensure reads one alone as cheaply
	}
	rows, err := r.tx.BinStocks(ctx, fulfill.StockFilter{SKUs: skus})
	if err != nil {
		return err
	}
	for _, sku := range skus {
		r.bins[sku] = nil // read: no usable stock unless a row says so
	}
	for _, b := range rows {
		if r.usable(b) {
			r.bins[b.SKU] = append(r.bins[b.SKU], &binAvail{wh: b.Warehouse, bin: b.Bin, avail: b.Available})
		}
	}
	return nil
}

// cloneOrder copies o deeply enough for fn to change it freely: the
// timeline, allocations and payment time are its own; lines are shared
// (fixed at checkout).
func cloneOrder(o *fulfill.Order) *fulfill.Order {
	c := *o
	c.Timeline = slices.Clip(slices.Clone(o.Timeline))
	c.Allocations = slices.Clone(o.Allocations)
	if o.Payment.ConfirmedAt != nil {
		at := *o.Payment.ConfirmedAt
		c.Payment.ConfirmedAt = &at
	}
	if o.ExpiresAt != nil {
		at := *o.ExpiresAt
		c.ExpiresAt = &at
	}
	return &c
}

// finishChange queues the notification and jobs of a saved change and
// releases the order's stock when asked.
func (a *App) finishChange(ctx context.Context, tx fulfill.Tx, fu *followUp) error {
	if fu.release != "" {
		if err := a.ReleaseOrder(ctx, tx, fu.order, fu.release); err != nil {
			return err
		}
	}
	if fu.event != "" {
		if err := a.notify(ctx, tx, fu.order, fu.event, fu.cause, ""); err != nil {
			return err
		}
	}
	return a.queueJobs(ctx, tx, fu.jobs)
}

// queueJobs enqueues jobs in tx.
func (a *App) queueJobs(ctx context.Context, tx fulfill.Tx, jobs []fulfill.JobArgs) error {
	for _, j := range jobs {
		if err := tx.Enqueue(ctx, j, nil); err != nil {
			return err
		}
	}
	return nil
}

// notePayload is the payload of an order notification.
type notePayload struct {
	OrderID string              `json:"order_id"`
	Status  fulfill.OrderStatus `json:"status"`
	Cause   string              `json:"cause,omitempty"`
	Email   string              `json:"email,omitempty"`
}

// notify queues an order notification with dedupe key
// "<order>:<event>[:<suffix>]".
func (a *App) notify(ctx context.Context, tx fulfill.Tx, o *fulfill.Order, event, cause, suffix string) error {
	n, err := a.notification(o, event, cause, suffix)
	if err != nil {
		return err
	}
	_, err = tx.AddNotification(ctx, n)
	return err
}

// notification builds the notification notify queues.
func (a *App) notification(o *fulfill.Order, event, cause, suffix string) (*fulfill.Notification, error) {
	body, err := json.Marshal(notePayload{OrderID: o.ID, Status: o.Status, Cause: cause, Email: o.Customer.Email})
	if err != nil {
		return nil, fulfill.Wrap(err, "notification payload")
	}
	key := o.ID + ":" + event
	if suffix != "" {
		key += ":" + suffix
	}
	return &fulfill.Notification{OrderID: o.ID, Event: fulfill.NotificationEvent(event), DedupeKey: key,
		Payload: body, CreatedAt: a.clock.Now()}, nil
}

// finish checks the low-stock thresholds of everything the reserver
// touched and queues the batch's gateway calls.
func (r *reserver) finish(ctx context.Context) error {
	if err := r.flush(ctx); err != nil {
		return err
	}
	for _, act := range []PaymentAction{ActionCapture, ActionVoid, ActionRefund} {
		if ids := r.later[act]; len(ids) > 0 {
			args := PaymentActionsArgs{Action: act, OrderIDs: ids}
			if act != ActionCapture {
				args.Reason = CauseOutOfStock
			}
			if err := r.tx.Enqueue(ctx, args, nil); err != nil {
				return err
			}
		}
	}
	r.later = map[PaymentAction][]string{}
	defer func() { r.touched = map[skuWh]bool{} }()
	bySKU := map[string]bool{}
	for k := range r.touched {
		bySKU[k.sku] = true
	}
	var skus []string
	for sku := range bySKU {
		skus = append(skus, sku)
	}
	if err := r.ensure(ctx, skus, false); err != nil {
		return err
	}
	avail := func(sku, wh string) (int64, bool) {
		if !r.touched[skuWh{sku, wh}] {
			return 0, false
		}
		return r.available(sku, wh), true
	}
	if len(skus) > perSKULoads { // one read of every threshold beats one per SKU
		ths, err := r.tx.StockThresholds(ctx, "")
		if err != nil {
			return err
		}
		return r.a.checkEach(ctx, r.tx, ths, avail)
	}
	for _, sku := range skus {
		ths, err := r.tx.StockThresholds(ctx, sku)
		if err != nil {
			return err
		}
		if err := r.a.checkEach(ctx, r.tx, ths, avail); err != nil {
			return err
		}
	}
	return nil
}
