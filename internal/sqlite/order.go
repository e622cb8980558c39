package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// Orders live in four tables: orders (one row, customer and address as
// JSON text), order_lines, order_timeline and order_allocations (rows
// numbered n within the order). orders.seq, the rowid, is the arrival
// number that breaks ties in confirmation order.

const orderCols = `id, status, customer, shipping_address, total_amount, total_currency,
	payment_provider, payment_capture, payment_intent_id, payment_client_secret, payment_approval_url,
	payment_confirmed_at, expires_at, created_at, updated_at`

// jsonCol scans JSON text into v.
type jsonCol struct{ v any }

// Scan implements sql.Scanner.
func (c jsonCol) Scan(src any) error {
	switch s := src.(type) {
	case string:
		return json.Unmarshal([]byte(s), c.v)
	case []byte:
		return json.Unmarshal(s, c.v)
	}
	return errors.New("stored JSON is not text")
}

// nullTime is a nullable time column's value.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func scanOrder(s scanner) (*fulfill.Order, error) {
	var o fulfill.Order
	p := &o.Payment
	err := s.Scan(&o.ID, &o.Status, jsonCol{&o.Customer}, jsonCol{&o.ShippingAddress},
		&o.Total.Amount, &o.Total.Currency, &p.Provider, &p.Capture, &p.IntentID, &p.ClientSecret,
		&p.ApprovalURL, nullTimeCol{&p.ConfirmedAt}, nullTimeCol{&o.ExpiresAt},
		timeCol{&o.CreatedAt}, timeCol{&o.UpdatedAt})
	o.Lines, o.Timeline, o.Allocations = []fulfill.OrderLine{}, []fulfill.TimelineEntry{}, []fulfill.Allocation{}
	return &o, err
}

// orderRow is the values of an orders row after id, in orderCols order.
func orderRow(o *fulfill.Order) ([]any, error) {
	cust, err := json.Marshal(o.Customer)
	if err != nil {
		return nil, fulfill.Wrap(err, "encode customer")
	}
	addr, err := json.Marshal(o.ShippingAddress)
	if err != nil {
		return nil, fulfill.Wrap(err, "encode shipping address")
	}
	p := o.Payment
	return []any{string(o.Status), string(cust), string(addr), o.Total.Amount, o.Total.Currency,
		p.Provider, string(p.Capture), p.IntentID, p.ClientSecret, p.ApprovalURL,
		nullTime(p.ConfirmedAt), nullTime(o.ExpiresAt), formatTime(o.CreatedAt), formatTime(o.UpdatedAt)}, nil
}

// CreateOrder inserts o with its lines, timeline and allocations.
// EAlreadyExists when the id or the gateway intent is taken.
func (t *txn) CreateOrder(ctx context.Context, o *fulfill.Order) error {
	if err := t.writable("create order"); err != nil {
		return err
	}
	o.CreatedAt, o.UpdatedAt = orNow(o.CreatedAt), orNow(o.UpdatedAt)
	row, err := orderRow(o)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO orders (`+orderCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{o.ID}, row...)...)
	if err != nil {
		return mapErr(err, "order")
	}
	for i, l := range o.Lines {
		_, err := t.tx.ExecContext(ctx, `INSERT INTO order_lines (order_id, n, sku, name, quantity,
			unit_amount, unit_currency, total_amount, total_currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, i, l.SKU, l.Name, l.Quantity, l.UnitPrice.Amount, l.UnitPrice.Currency, l.Total.Amount, l.Total.Currency)
		if err != nil {
			return mapErr(err, "order line")
		}
	}
	if err := t.insertTimeline(ctx, o.ID, 0, o.Timeline); err != nil {
		return err
	}
	return t.insertAllocations(ctx, o.ID, o.Allocations)
}

// insertTimeline inserts entries numbered from first, in one statement.
func (t *txn) insertTimeline(ctx context.Context, id string, first int, entries []fulfill.TimelineEntry) error {
	if len(entries) == 0 {
		return nil
	}
	args := make([]any, 0, 6*len(entries))
	for i, e := range entries {
		args = append(args, id, first+i, formatTime(e.At), string(e.From), string(e.To), e.Cause)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO order_timeline (order_id, n, at, from_status, to_status, cause)
		VALUES `+valueRows(len(entries), 6), args...)
	return mapErr(err, "order timeline")
}

// insertAllocations inserts allocations numbered from 0, in one statement.
func (t *txn) insertAllocations(ctx context.Context, id string, allocs []fulfill.Allocation) error {
	if len(allocs) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(allocs))
	for i, a := range allocs {
		args = append(args, id, i, a.Warehouse, a.SKU, a.Quantity)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO order_allocations (order_id, n, warehouse, sku, quantity)
		VALUES `+valueRows(len(allocs), 5), args...)
	return mapErr(err, "order allocation")
}

// valueRows is the VALUES list of rows rows of cols placeholders each.
func valueRows(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(row+", ", rows-1) + row
}

// GetOrder returns an order with lines, timeline and allocations. ENotFound.
func (t *txn) GetOrder(ctx context.Context, id string) (*fulfill.Order, error) {
	return t.oneOrder(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ?`, id)
}

// OrderByIntent finds the order of a gateway intent. ENotFound.
func (t *txn) OrderByIntent(ctx context.Context, provider, intentID string) (*fulfill.Order, error) {
	if intentID == "" {
		return nil, fulfill.Errorf(fulfill.ENotFound, "order not found")
	}
	return t.oneOrder(ctx, `SELECT `+orderCols+` FROM orders
		WHERE payment_provider = ? AND payment_intent_id = ?`, provider, intentID)
}

func (t *txn) oneOrder(ctx context.Context, q string, args ...any) (*fulfill.Order, error) {
	o, err := scanOrder(t.tx.QueryRowContext(ctx, q, args...))
	if err != nil {
		return nil, mapErr(err, "order")
	}
	if err := t.loadChildren(ctx, []*fulfill.Order{o}); err != nil {
		return nil, err
	}
	return o, nil
}

// UpdateOrder loads the order, calls fn and saves what it changed with a
// guarded update on the loaded status. ENotFound; EConflict when the guard
// fails; fn's error is returned as is and nothing is saved.
//
// No row lock is needed on SQLite: Update runs BEGIN IMMEDIATE on the one
// writer connection, so no other writer can change the order between the
// load and the save. The guard still catches a change made earlier in this
// same transaction (say, by a nested UpdateOrder inside fn).
func (t *txn) UpdateOrder(ctx context.Context, id string, fn func(*fulfill.Order) error) (*fulfill.Order, error) {
	if err := t.writable("update order"); err != nil {
		return nil, err
	}
	o, err := t.GetOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	loaded, seen, allocs := o.Status, len(o.Timeline), slices.Clone(o.Allocations)
	if err := fn(o); err != nil {
		return nil, err
	}
	o.ID = id
	if err := t.saveLoaded(ctx, o, loaded, seen, !slices.Equal(allocs, o.Allocations)); err != nil {
		return nil, err
	}
	return o, nil
}

// SaveOrders saves orders loaded earlier in this transaction without
// reading them again: one prepared guarded UPDATE per order (status,
// payment, expiry, updated_at: the fields UpdateOrder documents), then the
// new timeline entries of all of them, and the allocations of those that
// changed, in multi-row statements. EConflict when a guard fails
// (ENotFound when the order does not exist at all).
func (t *txn) SaveOrders(ctx context.Context, saves []fulfill.OrderSave) error {
	if err := t.writable("save orders"); err != nil {
		return err
	}
	if len(saves) == 0 {
		return nil
	}
	if err := t.updateOrderRows(ctx, saves); err != nil {
		return err
	}
	var timeline []any
	allocs := map[string][]fulfill.Allocation{}
	var changed []string
	for _, s := range saves {
		o := s.Order
		for i, e := range o.Timeline[s.LoadedTimeline:] {
			timeline = append(timeline, o.ID, s.LoadedTimeline+i, formatTime(e.At), string(e.From), string(e.To), e.Cause)
		}
		if s.AllocationsChanged {
			if _, ok := allocs[o.ID]; !ok {
				changed = append(changed, o.ID)
			}
			allocs[o.ID] = o.Allocations // the last save of an order wins
		}
	}
	if err := t.insertRows(ctx, `INSERT INTO order_timeline (order_id, n, at, from_status, to_status, cause) VALUES `,
		6, timeline, "order timeline"); err != nil {
		return err
	}
	return t.replaceAllocations(ctx, changed, allocs)
}

// updateOrderRows runs the guarded UPDATE of each save with one prepared
// statement.
func (t *txn) updateOrderRows(ctx context.Context, saves []fulfill.OrderSave) error {
	st, err := t.tx.PrepareContext(ctx, `UPDATE orders SET status = ?, payment_provider = ?,
		payment_capture = ?, payment_intent_id = ?, payment_client_secret = ?, payment_approval_url = ?,
		payment_confirmed_at = ?, expires_at = ?, updated_at = ? WHERE id = ? AND status = ?`)
	if err != nil {
		return mapErr(err, "save orders")
	}
	defer func() { _ = st.Close() }()
	for _, s := range saves {
		o := s.Order
		if s.LoadedTimeline < 0 || len(o.Timeline) < s.LoadedTimeline {
			return fulfill.Errorf(fulfill.EInternal, "save order %s: timeline entries cannot be removed", o.ID)
		}
		o.UpdatedAt = orNow(o.UpdatedAt)
		p := o.Payment
		res, err := st.ExecContext(ctx, string(o.Status), p.Provider, string(p.Capture), p.IntentID, p.ClientSecret,
			p.ApprovalURL, nullTime(p.ConfirmedAt), nullTime(o.ExpiresAt), formatTime(o.UpdatedAt),
			o.ID, string(s.LoadedStatus))
		if err != nil {
			return mapErr(err, "save order")
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil && !t.orderExists(ctx, o.ID) {
				return fulfill.Errorf(fulfill.ENotFound, "order %s not found", o.ID)
			}
			return &fulfill.Error{Code: fulfill.EConflict, Err: err,
				Message: "order " + o.ID + " is no longer " + string(s.LoadedStatus)}
		}
	}
	return nil
}

// replaceAllocations rewrites the allocations of the orders ids.
func (t *txn) replaceAllocations(ctx context.Context, ids []string, allocs map[string][]fulfill.Allocation) error {
	var rows []any
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
			for n, a := range allocs[id] {
				rows = append(rows, id, n, a.Warehouse, a.SKU, a.Quantity)
			}
		}
		_, err := t.tx.ExecContext(ctx, `DELETE FROM order_allocations WHERE order_id IN (`+
			strings.Repeat("?, ", len(chunk)-1)+`?)`, args...)
		if err != nil {
			return mapErr(err, "order allocations")
		}
	}
	return t.insertRows(ctx, `INSERT INTO order_allocations (order_id, n, warehouse, sku, quantity) VALUES `,
		5, rows, "order allocations")
}

// insertRows runs a multi-row INSERT (head ends with VALUES) of args, cols
// values a row, up to 500 rows per statement.
func (t *txn) insertRows(ctx context.Context, head string, cols int, args []any, what string) error {
	const per = 500
	for start := 0; start < len(args); start += per * cols {
		chunk := args[start:min(start+per*cols, len(args))]
		if _, err := t.tx.ExecContext(ctx, head+valueRows(len(chunk)/cols, cols), chunk...); err != nil {
			return mapErr(err, what)
		}
	}
	return nil
}

// saveLoaded writes a loaded order: the row as a guarded update on
// loaded, the timeline entries from seen on (one statement) and, when
// allocsChanged, the allocations.
func (t *txn) saveLoaded(ctx context.Context, o *fulfill.Order, loaded fulfill.OrderStatus, seen int, allocsChanged bool) error {
	if seen < 0 || len(o.Timeline) < seen {
		return fulfill.Errorf(fulfill.EInternal, "save order %s: timeline entries cannot be removed", o.ID)
	}
	if err := t.saveOrder(ctx, o, loaded); err != nil {
		return err
	}
	if err := t.insertTimeline(ctx, o.ID, seen, o.Timeline[seen:]); err != nil {
		return err
	}
	if !allocsChanged {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM order_allocations WHERE order_id = ?`, o.ID); err != nil {
		return mapErr(err, "order allocations")
	}
	return t.insertAllocations(ctx, o.ID, o.Allocations)
}

// OrdersByIDs returns the orders of ids that exist, with their children,
// reading up to 500 ids per query. "Locked" comes free: the transaction
// holds SQLite's single write lock.
func (t *txn) OrdersByIDs(ctx context.Context, ids []string) ([]fulfill.Order, error) {
	var out []fulfill.Order
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		os, err := t.orders(ctx, `SELECT `+orderCols+` FROM orders WHERE id IN (`+
			strings.Repeat("?, ", len(chunk)-1)+`?)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, os...)
	}
	return out, nil
}

// saveOrder writes o's row if its status is still loaded. Lines are fixed
// at checkout and never rewritten.
func (t *txn) saveOrder(ctx context.Context, o *fulfill.Order, loaded fulfill.OrderStatus) error {
	o.UpdatedAt = orNow(o.UpdatedAt)
	row, err := orderRow(o)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE orders SET status = ?, customer = ?, shipping_address = ?,
		total_amount = ?, total_currency = ?, payment_provider = ?, payment_capture = ?,
		payment_intent_id = ?, payment_client_secret = ?, payment_approval_url = ?,
		payment_confirmed_at = ?, expires_at = ?, created_at = ?, updated_at = ?
		WHERE id = ? AND status = ?`, append(row, o.ID, string(loaded))...)
	if err != nil {
		return mapErr(err, "order")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil && !t.orderExists(ctx, o.ID) {
			return fulfill.Errorf(fulfill.ENotFound, "order %s not found", o.ID)
		}
		return &fulfill.Error{Code: fulfill.EConflict, Err: err,
			Message: "order " + o.ID + " is no longer " + string(loaded)}
	}
	return nil
}

// orderExists reports whether order id exists (false also on a read error,
// which the caller's conflict then stands for).
func (t *txn) orderExists(ctx context.Context, id string) bool {
	var one int
	return t.tx.QueryRowContext(ctx, `SELECT 1 FROM orders WHERE id = ?`, id).Scan(&one) == nil
}

// ListOrders lists orders newest first (by id, which sorts by creation
// time), after Page.After, by status when set.
func (t *txn) ListOrders(ctx context.Context, f fulfill.OrderFilter) ([]fulfill.Order, error) {
	q, args := `SELECT `+orderCols+` FROM orders WHERE 1 = 1`, []any{}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Page.After != "" {
		q += ` AND id < ?`
		args = append(args, f.Page.After)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	return t.orders(ctx, q, append(args, limit(f.Page.Limit))...)
}

// PaidOrdersToAllocate returns up to limit paid orders in order of payment
// confirmation, then arrival. "Locked" comes free: the transaction holds
// SQLite's single write lock.
func (t *txn) PaidOrdersToAllocate(ctx context.Context, n int) ([]fulfill.Order, error) {
	return t.ordersByConfirmation(ctx, fulfill.StatusPaid, n)
}

// BackorderedOrders returns up to limit backordered orders in order of
// payment confirmation, then arrival.
func (t *txn) BackorderedOrders(ctx context.Context, n int) ([]fulfill.Order, error) {
	return t.ordersByConfirmation(ctx, fulfill.StatusBackordered, n)
}

// ordersByConfirmation reads index orders_status_confirmed in order. An
// order without a confirmation time would sort first here (SQLite puts
// NULL first) but last on PostgreSQL; paid orders always carry one.
func (t *txn) ordersByConfirmation(ctx context.Context, st fulfill.OrderStatus, n int) ([]fulfill.Order, error) {
	return t.orders(ctx, `SELECT `+orderCols+` FROM orders WHERE status = ?
		ORDER BY payment_confirmed_at, seq LIMIT ?`, string(st), limit(n))
}

// ExpiredOrders returns ids of unpaid orders whose expiry is before now,
// the earliest expiry first.
func (t *txn) ExpiredOrders(ctx context.Context, now time.Time, n int) ([]string, error) {
	return list(ctx, t.tx, `SELECT id FROM orders WHERE status = ? AND expires_at < ?
		ORDER BY expires_at, seq LIMIT ?`, []any{string(fulfill.StatusPendingPayment), formatTime(now), limit(n)},
		"expired orders", scanString)
}

func scanString(s scanner) (*string, error) {
	var v string
	err := s.Scan(&v)
	return &v, err
}

// LockAllocator does nothing on SQLite: the transaction already holds the
// database's single write lock (BEGIN IMMEDIATE), which serialises every
// reservation decision, in this process and any other.
func (t *txn) LockAllocator(ctx context.Context) error { return t.writable("lock allocator") }

// orders runs an orders query and loads the children of every order with
// one query per child table (not one per order: allocation reads batches).
func (t *txn) orders(ctx context.Context, q string, args ...any) ([]fulfill.Order, error) {
	out, err := list(ctx, t.tx, q, args, "orders", scanOrder)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*fulfill.Order, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, t.loadChildren(ctx, ptrs)
}

// loadChildren fills the lines, timeline and allocations of orders.
func (t *txn) loadChildren(ctx context.Context, orders []*fulfill.Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := make(map[string]*fulfill.Order, len(orders))
	args := make([]any, len(orders))
	for i, o := range orders {
		byID[o.ID], args[i] = o, o.ID
	}
	in := "(" + strings.Repeat("?, ", len(orders)-1) + "?)"
	if err := t.eachRow(ctx, `SELECT order_id, sku, name, quantity, unit_amount, unit_currency,
		total_amount, total_currency FROM order_lines WHERE order_id IN `+in+` ORDER BY order_id, n`, args,
		func(s scanner) error {
			var id string
			var l fulfill.OrderLine
			err := s.Scan(&id, &l.SKU, &l.Name, &l.Quantity, &l.UnitPrice.Amount, &l.UnitPrice.Currency,
				&l.Total.Amount, &l.Total.Currency)
			if err == nil {
				byID[id].Lines = append(byID[id].Lines, l)
			}
			return err
		}); err != nil {
		return mapErr(err, "order lines")
	}
	if err := t.eachRow(ctx, `SELECT order_id, at, from_status, to_status, cause FROM order_timeline
		WHERE order_id IN `+in+` ORDER BY order_id, n`, args, func(s scanner) error {
		var id string
		var e fulfill.TimelineEntry
		err := s.Scan(&id, timeCol{&e.At}, &e.From, &e.To, &e.Cause)
		if err == nil {
			byID[id].Timeline = append(byID[id].Timeline, e)
		}
		return err
	}); err != nil {
		return mapErr(err, "order timeline")
	}
	err := t.eachRow(ctx, `SELECT order_id, warehouse, sku, quantity FROM order_allocations
		WHERE order_id IN `+in+` ORDER BY order_id, n`, args, func(s scanner) error {
		var id string
		var a fulfill.Allocation
		err := s.Scan(&id, &a.Warehouse, &a.SKU, &a.Quantity)
		if err == nil {
			byID[id].Allocations = append(byID[id].Allocations, a)
		}
		return err
	})
	return mapErr(err, "order allocations")
}

// eachRow runs q and calls fn on every row.
func (t *txn) eachRow(ctx context.Context, q string, args []any, fn func(scanner) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
