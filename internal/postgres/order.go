package postgres

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
)

// Orders live in four tables: orders (one row; customer and address as
// jsonb), order_lines, order_timeline and order_allocations (rows numbered
// n within the order). orders.seq is the arrival number that breaks ties in
// confirmation order.
//
// This is the payment stage's hot path, so round trips are counted: an
// order is created in one statement (data-modifying CTEs), loaded in one
// batch, saved in one statement, and a list of orders loads its children
// with one query per child table for all of them (= ANY), not per order.

const orderCols = `id, status, customer, shipping_address, total_amount, total_currency,
	payment_provider, payment_capture, payment_intent_id, payment_client_secret, payment_approval_url,
	payment_confirmed_at, expires_at, created_at, updated_at`

// params numbers query parameters as they are added.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// stampPtr is stamp for a nullable time: nil stays nil.
func stampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := stamp(*t)
	return &s
}

// utcPtr converts a scanned nullable timestamptz to UTC.
func utcPtr(t *time.Time) {
	if t != nil {
		utc(t)
	}
}

// stampOrder brings o's times to what the database will store (UTC,
// microseconds; zero created/updated times become now), so that the order
// the caller holds equals the one read back.
func stampOrder(o *fulfill.Order) {
	o.CreatedAt, o.UpdatedAt = stamp(o.CreatedAt), stamp(o.UpdatedAt)
	o.Payment.ConfirmedAt, o.ExpiresAt = stampPtr(o.Payment.ConfirmedAt), stampPtr(o.ExpiresAt)
	for i := range o.Timeline {
		o.Timeline[i].At = micro(o.Timeline[i].At)
	}
}

func scanOrder(row pgx.CollectableRow) (fulfill.Order, error) {
	var o fulfill.Order
	p := &o.Payment
	err := row.Scan(&o.ID, &o.Status, &o.Customer, &o.ShippingAddress, &o.Total.Amount, &o.Total.Currency,
		&p.Provider, &p.Capture, &p.IntentID, &p.ClientSecret, &p.ApprovalURL,
		&p.ConfirmedAt, &o.ExpiresAt, &o.CreatedAt, &o.UpdatedAt)
	utc(&o.CreatedAt)
	utc(&o.UpdatedAt)
	utcPtr(p.ConfirmedAt)
	utcPtr(o.ExpiresAt)
	o.Lines, o.Timeline, o.Allocations = []fulfill.OrderLine{}, []fulfill.TimelineEntry{}, []fulfill.Allocation{}
	return o, err
}

// orderValues adds the orders row of o after its id, in orderCols order,
// and returns the placeholders.
func orderValues(p *params, o *fulfill.Order) []string {
	pay := o.Payment
	vals := []any{string(o.Status), o.Customer, o.ShippingAddress, o.Total.Amount, o.Total.Currency,
		pay.Provider, string(pay.Capture), pay.IntentID, pay.ClientSecret, pay.ApprovalURL,
		pay.ConfirmedAt, o.ExpiresAt, o.CreatedAt, o.UpdatedAt}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = p.add(v)
	}
	return out
}

// CreateOrder inserts o with its lines, timeline and allocations in one
// statement. EAlreadyExists when the id or the gateway intent is taken
// (found without a unique violation, so the transaction stays usable).
func (t *tx) CreateOrder(ctx context.Context, o *fulfill.Order) error {
	stampOrder(o)
	var p params
	v := orderValues(&p, o)
	q := `WITH o AS (INSERT INTO orders (` + orderCols + `) VALUES (` + p.add(o.ID)
	for _, ph := range v {
		q += ", " + ph
	}
	q += `) ON CONFLICT DO NOTHING RETURNING id)`
	if len(o.Lines) > 0 {
		q += `, l AS (` + linesInsert(&p, o.Lines) + `)`
	}
	if len(o.Timeline) > 0 {
		q += `, tl AS (` + timelineInsert(&p, 0, o.Timeline) + `)`
	}
	if len(o.Allocations) > 0 {
		q += `, al AS (` + allocationsInsert(&p, o.Allocations) + `)`
	}
	var n int
	if err := t.tx.QueryRow(ctx, q+` SELECT count(*) FROM o`, p...).Scan(&n); err != nil {
		return mapErr(err, "create order")
	}
	if n == 1 {
		return nil
	}
	return t.whyOrderNotCreated(ctx, o)
}

// whyOrderNotCreated names what was taken.
func (t *tx) whyOrderNotCreated(ctx context.Context, o *fulfill.Order) error {
	taken, err := t.exists(ctx, `SELECT 1 FROM orders WHERE id = $1`, o.ID)
	if err != nil {
		return err
	}
	if taken {
		return fulfill.FieldErrorf(fulfill.EAlreadyExists, "id", "an order with id %q already exists", o.ID)
	}
	return fulfill.FieldErrorf(fulfill.EAlreadyExists, "payment_intent_id",
		"another order already has %s intent %q", o.Payment.Provider, o.Payment.IntentID)
}

// linesInsert inserts lines for the order returned by CTE o.
func linesInsert(p *params, lines []fulfill.OrderLine) string {
	n := len(lines)
	skus, names, qty := make([]string, n), make([]string, n), make([]int64, n)
	ua, uc, ta, tc := make([]int64, n), make([]string, n), make([]int64, n), make([]string, n)
	for i, l := range lines {
		skus[i], names[i], qty[i] = l.SKU, l.Name, l.Quantity
		ua[i], uc[i], ta[i], tc[i] = l.UnitPrice.Amount, l.UnitPrice.Currency, l.Total.Amount, l.Total.Currency
	}
	return `INSERT INTO order_lines (order_id, n, sku, name, quantity, unit_amount, unit_currency,
			total_amount, total_currency)
		SELECT o.id, x.n - 1, x.sku, x.name, x.qty, x.ua, x.uc, x.ta, x.tc
		FROM o, unnest(` + p.add(skus) + `::text[], ` + p.add(names) + `::text[], ` + p.add(qty) + `::bigint[], ` +
		p.add(ua) + `::bigint[], ` + p.add(uc) + `::text[], ` + p.add(ta) + `::bigint[], ` + p.add(tc) + `::text[])
			WITH ORDINALITY AS x(sku, name, qty, ua, uc, ta, tc, n)`
}

// timelineInsert inserts entries numbered from first for the order
// returned by CTE o.
func timelineInsert(p *params, first int, entries []fulfill.TimelineEntry) string {
	n := len(entries)
	at, from, to, cause := make([]time.Time, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		at[i], from[i], to[i], cause[i] = e.At, string(e.From), string(e.To), e.Cause
	}
	return `INSERT INTO order_timeline (order_id, n, at, from_status, to_status, cause)
		SELECT o.id, ` + p.add(first) + `::int + x.n::int - 1, x.at, x.f, x.t, x.c
		FROM o, unnest(` + p.add(at) + `::timestamptz[], ` + p.add(from) + `::text[], ` + p.add(to) + `::text[], ` +
		p.add(cause) + `::text[]) WITH ORDINALITY AS x(at, f, t, c, n)`
}

// allocationsInsert writes allocations numbered from 0 for the order
// returned by CTE o, overwriting rows with the same numbers.
func allocationsInsert(p *params, allocs []fulfill.Allocation) string {
	n := len(allocs)
	wh, sku, qty := make([]string, n), make([]string, n), make([]int64, n)
	for i, a := range allocs {
		wh[i], sku[i], qty[i] = a.Warehouse, a.SKU, a.Quantity
	}
	return `INSERT INTO order_allocations (order_id, n, warehouse, sku, quantity)
		SELECT o.id, x.n - 1, x.wh, x.sku, x.qty
		FROM o, unnest(` + p.add(wh) + `::text[], ` + p.add(sku) + `::text[], ` + p.add(qty) + `::bigint[])
			WITH ORDINALITY AS x(wh, sku, qty, n)
		ON CONFLICT (order_id, n) DO UPDATE
			SET warehouse = excluded.warehouse, sku = excluded.sku, quantity = excluded.quantity`
}

// GetOrder returns an order with lines, timeline and allocations, in one
// round trip. ENotFound.
func (t *tx) GetOrder(ctx context.Context, id string) (*fulfill.Order, error) {
	return t.loadOrder(ctx, id, "")
}

// OrderByIntent finds the order of a gateway intent. ENotFound.
func (t *tx) OrderByIntent(ctx context.Context, provider, intentID string) (*fulfill.Order, error) {
	if intentID == "" {
		return nil, orderNotFound(intentID)
	}
	os, err := t.orders(ctx, `SELECT `+orderCols+` FROM orders
		WHERE payment_provider = $1 AND payment_intent_id = $2`, provider, intentID)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, fulfill.Errorf(fulfill.ENotFound, "no order has %s intent %q", provider, intentID)
	}
	return &os[0], nil
}

func orderNotFound(id string) error {
	return fulfill.Errorf(fulfill.ENotFound, "order %q not found", id)
}

// loadOrder reads one order and its children in one batch; lock is "" or
// " FOR UPDATE". ENotFound.
func (t *tx) loadOrder(ctx context.Context, id, lock string) (*fulfill.Order, error) {
	var o *fulfill.Order
	b := &pgx.Batch{}
	b.Queue(`SELECT `+orderCols+` FROM orders WHERE id = $1`+lock, id).Query(func(rows pgx.Rows) error {
		os, err := pgx.CollectRows(rows, scanOrder)
		if len(os) == 1 {
			o = &os[0]
		}
		return err
	})
	byID := func(string) *fulfill.Order { return o }
	queueChildren(b, []string{id}, byID)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapErr(err, "get order")
	}
	if o == nil {
		return nil, orderNotFound(id)
	}
	return o, nil
}

// orders runs an orders query, then loads the children of every order it
// returned in one more round trip.
func (t *tx) orders(ctx context.Context, q string, args ...any) ([]fulfill.Order, error) {
	rows, _ := t.tx.Query(ctx, q, args...)
	os, err := pgx.CollectRows(rows, scanOrder)
	if err != nil {
		return nil, mapErr(err, "orders")
	}
	if len(os) == 0 {
		return os, nil
	}
	ids := make([]string, len(os))
	index := make(map[string]*fulfill.Order, len(os))
	for i := range os {
		ids[i], index[os[i].ID] = os[i].ID, &os[i]
	}
	b := &pgx.Batch{}
	queueChildren(b, ids, func(id string) *fulfill.Order { return index[id] })
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapErr(err, "orders")
	}
	return os, nil
}

// queueChildren queues the reads of the lines, timeline and allocations of
// the orders ids; byID finds the order a row belongs to (nil: skip it).
func queueChildren(b *pgx.Batch, ids []string, byID func(string) *fulfill.Order) {
	b.Queue(`SELECT order_id, sku, name, quantity, unit_amount, unit_currency, total_amount, total_currency
		FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, n`, ids).Query(func(rows pgx.Rows) error {
		var id string
		var l fulfill.OrderLine
		_, err := pgx.ForEachRow(rows, []any{&id, &l.SKU, &l.Name, &l.Quantity, &l.UnitPrice.Amount,
			&l.UnitPrice.Currency, &l.Total.Amount, &l.Total.Currency}, func() error {
			if o := byID(id); o != nil {
				o.Lines = append(o.Lines, l)
			}
			return nil
		})
		return err
	})
	b.Queue(`SELECT order_id, at, from_status, to_status, cause FROM order_timeline
		WHERE order_id = ANY($1) ORDER BY order_id, n`, ids).Query(func(rows pgx.Rows) error {
		var id string
		var e fulfill.TimelineEntry
		_, err := pgx.ForEachRow(rows, []any{&id, &e.At, &e.From, &e.To, &e.Cause}, func() error {
			if o := byID(id); o != nil {
				utc(&e.At)
				o.Timeline = append(o.Timeline, e)
			}
			return nil
		})
		return err
	})
	b.Queue(`SELECT order_id, warehouse, sku, quantity FROM order_allocations
		WHERE order_id = ANY($1) ORDER BY order_id, n`, ids).Query(func(rows pgx.Rows) error {
		var id string
		var a fulfill.Allocation
		_, err := pgx.ForEachRow(rows, []any{&id, &a.Warehouse, &a.SKU, &a.Quantity}, func() error {
			if o := byID(id); o != nil {
				o.Allocations = append(o.Allocations, a)
			}
			return nil
		})
		return err
	})
}

// UpdateOrder loads the order FOR UPDATE, calls fn and saves what it
// changed in one statement: a guarded UPDATE on the loaded status, the
// appended timeline entries and, when they changed, the allocations.
// ENotFound; EConflict when the guard fails (the status was changed
// earlier in this transaction: other transactions wait on the row lock);
// fn's error is returned as is and nothing is saved.
func (t *tx) UpdateOrder(ctx context.Context, id string, fn func(*fulfill.Order) error) (*fulfill.Order, error) {
	o, err := t.loadOrder(ctx, id, " FOR UPDATE")
	if err != nil {
		return nil, err
	}
	loaded, seen, allocs := o.Status, len(o.Timeline), slices.Clone(o.Allocations)
	if err := fn(o); err != nil {
		return nil, err
	}
	o.ID = id
	if len(o.Timeline) < seen {
		return nil, fulfill.Errorf(fulfill.EInternal, "update order %s: timeline entries cannot be removed", id)
	}
	if err := t.saveOrder(ctx, o, loaded, seen, !slices.Equal(allocs, o.Allocations)); err != nil {
		return nil, err
	}
	return o, nil
}

// SaveOrders saves orders loaded earlier in this transaction without
// reading them again. Distinct orders are saved set-wise in two round
// trips: one guarded UPDATE … FROM unnest of the status, payment, expiry
// and updated_at (the fields UpdateOrder documents), then the new timeline
// entries and changed allocations of all of them in one batch. When an
// order appears twice, each save is its own statement instead (saveOrders-
// OneByOne). EConflict for a guard that fails; ENotFound when that order
// does not exist at all.
func (t *tx) SaveOrders(ctx context.Context, saves []fulfill.OrderSave) error {
	if len(saves) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(saves))
	for _, s := range saves {
		if s.LoadedTimeline < 0 || len(s.Order.Timeline) < s.LoadedTimeline {
			return fulfill.Errorf(fulfill.EInternal, "save order %s: timeline entries cannot be removed", s.Order.ID)
		}
		if seen[s.Order.ID] {
			return t.saveOrdersOneByOne(ctx, saves)
		}
		seen[s.Order.ID] = true
	}
	if err := t.updateOrderRows(ctx, saves); err != nil {
		return err
	}
	return t.saveOrderChildren(ctx, saves)
}

// updateOrderRows runs the guarded UPDATE of distinct orders in one
// statement and explains the first guard that failed.
func (t *tx) updateOrderRows(ctx context.Context, saves []fulfill.OrderSave) error {
	n := len(saves)
	id, loaded, st, prov, capt, intent, secret, appr := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	conf, exp, upd := make([]*time.Time, n), make([]*time.Time, n), make([]time.Time, n)
	for i, s := range saves {
		o := s.Order
		stampOrder(o)
		p := o.Payment
		id[i], loaded[i], st[i] = o.ID, string(s.LoadedStatus), string(o.Status)
		prov[i], capt[i], intent[i], secret[i], appr[i] = p.Provider, string(p.Capture), p.IntentID, p.ClientSecret, p.ApprovalURL
		conf[i], exp[i], upd[i] = p.ConfirmedAt, o.ExpiresAt, o.UpdatedAt
	}
	rows, _ := t.tx.Query(ctx, `UPDATE orders o SET status = x.st, payment_provider = x.prov,
		payment_capture = x.capt, payment_intent_id = x.intent, payment_client_secret = x.secret,
		payment_approval_url = x.appr, payment_confirmed_at = x.conf, expires_at = x.exp, updated_at = x.upd
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::timestamptz[], $10::timestamptz[], $11::timestamptz[])
			AS x(id, loaded, st, prov, capt, intent, secret, appr, conf, exp, upd)
		WHERE o.id = x.id AND o.status = x.loaded
		RETURNING o.id`, id, loaded, st, prov, capt, intent, secret, appr, conf, exp, upd)
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapErr(err, "save orders")
	}
	if len(done) == n {
		return nil
	}
	ok := make(map[string]bool, len(done))
	for _, d := range done {
		ok[d] = true
	}
	for _, s := range saves {
		if !ok[s.Order.ID] {
			return t.guardFailed(ctx, &s)
		}
	}
	return nil
}

// saveOrderChildren inserts the new timeline entries of the saves and
// rewrites the allocations of those that changed, in one round trip.
func (t *tx) saveOrderChildren(ctx context.Context, saves []fulfill.OrderSave) error {
	var tlID, tlFrom, tlTo, tlCause []string
	var tlN []int
	var tlAt []time.Time
	var changed, alID, alWh, alSKU []string
	var alN []int
	var alQty []int64
	for _, s := range saves {
		o := s.Order
		for i, e := range o.Timeline[s.LoadedTimeline:] {
			tlID, tlN, tlAt = append(tlID, o.ID), append(tlN, s.LoadedTimeline+i), append(tlAt, e.At)
			tlFrom, tlTo, tlCause = append(tlFrom, string(e.From)), append(tlTo, string(e.To)), append(tlCause, e.Cause)
		}
		if s.AllocationsChanged {
			changed = append(changed, o.ID)
			for i, a := range o.Allocations {
				alID, alN, alWh = append(alID, o.ID), append(alN, i), append(alWh, a.Warehouse)
				alSKU, alQty = append(alSKU, a.SKU), append(alQty, a.Quantity)
			}
		}
	}
	b := &pgx.Batch{}
	if len(tlID) > 0 {
		b.Queue(`INSERT INTO order_timeline (order_id, n, at, from_status, to_status, cause)
			SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])`,
			tlID, tlN, tlAt, tlFrom, tlTo, tlCause)
	}
	if len(changed) > 0 {
		b.Queue(`DELETE FROM order_allocations WHERE order_id = ANY($1)`, changed)
	}
	if len(alID) > 0 {
		b.Queue(`INSERT INTO order_allocations (order_id, n, warehouse, sku, quantity)
			SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[])`,
			alID, alN, alWh, alSKU, alQty)
	}
	if b.Len() == 0 {
		return nil
	}
	return mapErr(t.tx.SendBatch(ctx, b).Close(), "save orders")
}

// guardFailed explains a save whose guard failed: ENotFound when the
// order is gone, else EConflict.
func (t *tx) guardFailed(ctx context.Context, s *fulfill.OrderSave) error {
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)`, s.Order.ID).Scan(&exists); err != nil {
		return mapErr(err, "save orders")
	}
	if !exists {
		return orderNotFound(s.Order.ID)
	}
	return fulfill.Errorf(fulfill.EConflict, "order %s is no longer %s", s.Order.ID, s.LoadedStatus)
}

// saveOrdersOneByOne saves each of saves with its own statement
// (saveOrderSQL), all in one round trip, so that an order saved twice is
// guarded on what its first save wrote.
func (t *tx) saveOrdersOneByOne(ctx context.Context, saves []fulfill.OrderSave) error {
	b := &pgx.Batch{}
	var failed *fulfill.OrderSave
	for i := range saves {
		s := &saves[i]
		if s.LoadedTimeline < 0 || len(s.Order.Timeline) < s.LoadedTimeline {
			return fulfill.Errorf(fulfill.EInternal, "save order %s: timeline entries cannot be removed", s.Order.ID)
		}
		q, p := saveOrderSQL(s.Order, s.LoadedStatus, s.LoadedTimeline, s.AllocationsChanged)
		b.Queue(q, p...).QueryRow(func(row pgx.Row) error {
			var n int
			if err := row.Scan(&n); err != nil {
				return err
			}
			if n == 0 && failed == nil {
				failed = s
			}
			return nil
		})
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return mapErr(err, "save orders")
	}
	if failed == nil {
		return nil
	}
	return t.guardFailed(ctx, failed)
}

// OrdersByIDs returns the orders of ids that exist, with their children,
// in one round trip (the children are read by the same ids, after the
// orders row locks are taken), locked FOR UPDATE in id order (a fixed
// order, so two batches cannot deadlock on each other's rows).
func (t *tx) OrdersByIDs(ctx context.Context, ids []string) ([]fulfill.Order, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var os []fulfill.Order
	index := make(map[string]*fulfill.Order, len(ids))
	b := &pgx.Batch{}
	b.Queue(`SELECT `+orderCols+` FROM orders WHERE id = ANY($1) ORDER BY id`+t.forUpdate(), ids).Query(func(rows pgx.Rows) error {
		var err error
		os, err = pgx.CollectRows(rows, scanOrder)
		for i := range os {
			index[os[i].ID] = &os[i]
		}
		return err
	})
	queueChildren(b, ids, func(id string) *fulfill.Order { return index[id] })
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapErr(err, "orders")
	}
	return os, nil
}

// saveOrder writes o's row if its status is still loaded, the timeline
// entries from seen on and, when allocsChanged, the allocations. Lines are
// fixed at checkout and never rewritten.
func (t *tx) saveOrder(ctx context.Context, o *fulfill.Order, loaded fulfill.OrderStatus, seen int, allocsChanged bool) error {
	q, p := saveOrderSQL(o, loaded, seen, allocsChanged)
	var n int
	if err := t.tx.QueryRow(ctx, q, p...).Scan(&n); err != nil {
		return mapErr(err, "update order")
	}
	if n == 0 {
		return fulfill.Errorf(fulfill.EConflict, "order %s is no longer %s", o.ID, loaded)
	}
	return nil
}

// saveOrderSQL is the one statement of saveOrder; it returns the number of
// orders rows it updated (0 when the guard failed).
func saveOrderSQL(o *fulfill.Order, loaded fulfill.OrderStatus, seen int, allocsChanged bool) (string, params) {
	stampOrder(o)
	var p params
	v := orderValues(&p, o)
	q := `WITH o AS (UPDATE orders SET status = ` + v[0] + `, customer = ` + v[1] + `, shipping_address = ` + v[2] +
		`, total_amount = ` + v[3] + `, total_currency = ` + v[4] + `, payment_provider = ` + v[5] +
		`, payment_capture = ` + v[6] + `, payment_intent_id = ` + v[7] + `, payment_client_secret = ` + v[8] +
		`, payment_approval_url = ` + v[9] + `, payment_confirmed_at = ` + v[10] + `, expires_at = ` + v[11] +
		`, created_at = ` + v[12] + `, updated_at = ` + v[13] +
		` WHERE id = ` + p.add(o.ID) + ` AND status = ` + p.add(string(loaded)) + ` RETURNING id)`
	if len(o.Timeline) > seen {
		q += `, tl AS (` + timelineInsert(&p, seen, o.Timeline[seen:]) + `)`
	}
	if allocsChanged {
		// Rows past the new count go; the others are overwritten in place
		// (disjoint rows, so the two may run in one statement).
		q += `, ad AS (DELETE FROM order_allocations WHERE order_id IN (SELECT id FROM o) AND n >= ` +
			p.add(len(o.Allocations)) + `)`
		if len(o.Allocations) > 0 {
			q += `, al AS (` + allocationsInsert(&p, o.Allocations) + `)`
		}
	}
	return q + ` SELECT count(*) FROM o`, p
}

// ListOrders lists orders newest first (by id, which sorts by creation
// time), after Page.After, by status when set.
func (t *tx) ListOrders(ctx context.Context, f fulfill.OrderFilter) ([]fulfill.Order, error) {
	var w where
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if f.Page.After != "" {
		w.add("id < ?", f.Page.After)
	}
	q := `SELECT ` + orderCols + ` FROM orders` + w.sql() + ` ORDER BY id DESC` + w.limit(pageLimit(f.Page.Limit))
	return t.orders(ctx, q, w.args...)
}

// PaidOrdersToAllocate returns up to limit paid orders in order of payment
// confirmation, then arrival, locked FOR UPDATE.
func (t *tx) PaidOrdersToAllocate(ctx context.Context, n int) ([]fulfill.Order, error) {
	return t.ordersByConfirmation(ctx, fulfill.StatusPaid, n)
}

// BackorderedOrders returns up to limit backordered orders in order of
// payment confirmation, then arrival, locked FOR UPDATE.
func (t *tx) BackorderedOrders(ctx context.Context, n int) ([]fulfill.Order, error) {
	return t.ordersByConfirmation(ctx, fulfill.StatusBackordered, n)
}

// ordersByConfirmation reads index orders_status_confirmed_idx in order.
// Under read committed a row locked by another transaction is waited for
// and re-checked, so an order that left the status meanwhile is skipped.
func (t *tx) ordersByConfirmation(ctx context.Context, st fulfill.OrderStatus, n int) ([]fulfill.Order, error) {
	return t.orders(ctx, `SELECT `+orderCols+` FROM orders WHERE status = $1
		ORDER BY payment_confirmed_at, seq LIMIT $2`+t.forUpdate(), string(st), pageLimit(n))
}

// ExpiredOrders returns ids of unpaid orders whose expiry is before now,
// the earliest expiry first.
func (t *tx) ExpiredOrders(ctx context.Context, now time.Time, n int) ([]string, error) {
	rows, _ := t.tx.Query(ctx, `SELECT id FROM orders WHERE status = $1 AND expires_at < $2
		ORDER BY expires_at, seq LIMIT $3`, string(fulfill.StatusPendingPayment), now, pageLimit(n))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr(err, "expired orders")
	}
	return ids, nil
}

// LockAllocator takes a transaction-scoped advisory lock, keyed by the
// schema, so that reservation decisions are serialised across processes
// (first come, first served) while other work goes on. Taking it twice in
// one transaction is fine; it is released at commit or rollback.
func (t *tx) LockAllocator(ctx context.Context) error {
	if err := t.writable("lock allocator"); err != nil {
		return err // a View's statements are transactions of their own
	}
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, t.allocKey)
	return mapErr(err, "lock allocator")
}
