package sqlite

import (
	lru "container/list"
	"context"
	"database/sql/driver"
	"errors"
)

// stmtCacheSize bounds the prepared statements kept per connection. Fulfill
// and River together run about a hundred distinct statements; batch
// statements with a variable number of placeholders add a few more.
const stmtCacheSize = 512

// cachingConnector hands out connections that keep their prepared
// statements. modernc's driver parses every statement anew on each
// ExecContext/QueryContext (sqlite3_prepare on every call), which was 20–33 %
// of the server's CPU under load; a prepared statement keeps its compiled
// SQLite program and runs again after a reset. Hiding the driver's
// ExecerContext and QueryerContext makes database/sql prepare through
// PrepareContext, which serves the cached statement, and its Close, which
// returns it to the cache. All statements benefit, River's included.
//
// With detach, statements ignore the cancellation of their context: the
// driver would interrupt the statement, and SQLite then rolls back the
// whole transaction, which on the writer may hold other callers' work
// (Store.UpdateShared). database/sql still refuses a statement whose
// context is already done, and still rolls back a transaction whose own
// context ends.
type cachingConnector struct {
	inner  driver.Connector
	detach bool
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc := &cachingConn{inner: conn, byQuery: map[string]*lru.Element{}, order: lru.New(), detach: c.detach}
	var ok bool
	if cc.prep, ok = conn.(driver.ConnPrepareContext); !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite driver: connection cannot prepare with a context")
	}
	if cc.begin, ok = conn.(driver.ConnBeginTx); !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite driver: connection cannot begin with options")
	}
	return cc, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.inner.Driver() }

// cachingConn wraps one driver connection. database/sql uses a connection
// from one goroutine at a time, so the cache needs no lock.
type cachingConn struct {
	inner   driver.Conn
	prep    driver.ConnPrepareContext
	begin   driver.ConnBeginTx
	byQuery map[string]*lru.Element // of *cachedStmt
	order   *lru.List               // front: most recently used
	detach  bool
}

var (
	_ driver.Conn               = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns the cached statement for query, or prepares and
// caches it. A statement still in use (its rows open while the same query
// runs again) is not shared: the second use gets a statement of its own.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if el, ok := c.byQuery[query]; ok {
		cs := el.Value.(*cachedStmt)
		if !cs.inUse {
			cs.inUse = true
			c.order.MoveToFront(el)
			return cs, nil
		}
		st, err := c.prep.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		// Not cached: closed for real after use.
		return &cachedStmt{Stmt: st, query: query, inUse: true, evicted: true, detach: c.detach}, nil
	}
	st, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{Stmt: st, query: query, inUse: true, detach: c.detach}
	c.byQuery[query] = c.order.PushFront(cs)
	for c.order.Len() > stmtCacheSize {
		c.evict(c.order.Back())
	}
	return cs, nil
}

// evict drops el from the cache; a statement in use is closed when its
// user closes it.
func (c *cachingConn) evict(el *lru.Element) {
	cs := el.Value.(*cachedStmt)
	c.order.Remove(el)
	delete(c.byQuery, cs.query)
	cs.evicted = true
	if !cs.inUse {
		_ = cs.Stmt.Close()
	}
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.begin.BeginTx(ctx, opts)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.begin.BeginTx(context.Background(), driver.TxOptions{})
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	for c.order.Len() > 0 {
		c.evict(c.order.Front())
	}
	return c.inner.Close()
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedStmt is a prepared statement lent out by its connection's cache;
// Close gives it back instead of finalizing it.
type cachedStmt struct {
	driver.Stmt
	query   string
	inUse   bool
	evicted bool
	detach  bool // see cachingConnector
}

// Close returns the statement to the cache (finalizing it if it was evicted
// meanwhile). database/sql closes a statement only after its rows.
func (s *cachedStmt) Close() error {
	s.inUse = false
	if s.evicted {
		return s.Stmt.Close()
	}
	return nil
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.detach {
		ctx = context.WithoutCancel(ctx)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.detach {
		ctx = context.WithoutCancel(ctx)
	}
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
