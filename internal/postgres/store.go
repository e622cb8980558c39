// Package postgres is Fulfill's PostgreSQL store: pgx v5 over a pgxpool,
// its own SQL and goose migrations, and River's PostgreSQL driver for the
// durable job queue, so that a job commits in the same transaction as the
// data it belongs to.
package postgres

import (
	"context"
	"embed"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ fulfill.Store = (*Store)(nil)

// Config configures a PostgreSQL store.
type Config struct {
	// URL is a PostgreSQL connection URL or DSN.
	URL string
	// Schema, when set, is created if missing and used as the search_path
	// of every connection (and as River's schema), so that one database
	// can hold many isolated Fulfill instances (one per test, say).
	Schema string
	// MaxConns caps the pool of write transactions and River (default:
	// the URL's pool_max_conns, else 20).
	MaxConns int32
	// MaxReadConns caps the pool of View's connections (default a quarter
	// of MaxConns, at least 2).
	MaxReadConns int32
	// Queue configures the job queue; its Schema and Stats are filled in.
	Queue queue.Config
	// Logger receives migration and queue logs (default: discarded).
	Logger *slog.Logger
}

// Store is the PostgreSQL implementation of fulfill.Store.
type Store struct {
	pool *pgxpool.Pool
	// reads serves View: its connections default to read-only
	// transactions, so a View runs its statements without BEGIN and
	// COMMIT (two round trips less) and still cannot write.
	reads  *pgxpool.Pool
	queue  *queue.Queue[pgx.Tx]
	schema string
	log    *slog.Logger
	// allocKey is the advisory lock that serialises reservation decisions
	// of this schema (LockAllocator).
	allocKey int64
}

// Open connects to PostgreSQL, creates cfg.Schema when set, and builds the
// job queue. It does not migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool, err := newPool(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	reads, err := newPool(ctx, cfg, true)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, reads: reads, schema: cfg.Schema, log: log}
	s.allocKey = s.lockKey("fulfill-allocator:")
	if err := s.createSchema(ctx); err != nil {
		s.closePools()
		return nil, err
	}
	qc := cfg.Queue
	qc.Schema = cfg.Schema
	qc.Stats = s.jobStats
	if qc.Logger == nil {
		qc.Logger = log
	}
	q, err := queue.New(riverpgxv5.New(pool), qc)
	if err != nil {
		s.closePools()
		return nil, fulfill.Wrap(err, "open job queue")
	}
	s.queue = q
	return s, nil
}

// newPool opens the pool of write transactions, or with readOnly the
// pool of View, whose every transaction is read-only unless it says
// otherwise.
func newPool(ctx context.Context, cfg Config, readOnly bool) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "database_url", "database URL is not valid for PostgreSQL")
	}
	if !strings.Contains(cfg.URL, "pool_max_conns") { // else the URL's
		pc.MaxConns = 20
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if readOnly {
		pc.MaxConns = max(2, pc.MaxConns/4)
		if cfg.MaxReadConns > 0 {
			pc.MaxConns = cfg.MaxReadConns
		}
		pc.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pc.MinConns = min(pc.MinConns, pc.MaxConns) // pool_min_conns in the URL
	if cfg.Schema != "" {
		// Only the schema: a table missing there must be an error, never a
		// silent fall-through to public.
		pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, mapErr(err, "connect to PostgreSQL")
	}
	return pool, nil
}

func (s *Store) createSchema(ctx context.Context) error {
	if s.schema == "" {
		return nil
	}
	_, err := s.pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize())
	return mapErr(err, "create schema")
}

// Migrate applies Fulfill's migrations and then River's, in the store's
// schema. Concurrent callers on the same schema wait for one another.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fulfill.Wrap(err, "migrations")
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(s.lockID()))
	if err != nil {
		return fulfill.Wrap(err, "migration lock")
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close() // does not close the pool
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithSlog(s.log), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fulfill.Wrap(err, "migration provider")
	}
	if _, err := p.Up(ctx); err != nil {
		return mapErr(err, "migrate")
	}
	if err := queue.Migrate(ctx, riverpgxv5.New(s.pool), s.schema, s.log); err != nil {
		return mapErr(err, "migrate job queue")
	}
	return nil
}

// lockID is the advisory lock that serialises migrations of one schema;
// other schemas (parallel tests) migrate at the same time.
func (s *Store) lockID() int64 { return s.lockKey("fulfill-migrate:") }

// lockKey derives an advisory lock key from purpose and the schema, so
// that stores on other schemas (parallel tests) never contend.
func (s *Store) lockKey(purpose string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(purpose + s.schema))
	return int64(h.Sum64() >> 1)
}

// Update runs fn in one read-committed transaction and commits when fn
// returns nil.
func (s *Store) Update(ctx context.Context, fn func(fulfill.Tx) error) error {
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

// lazyBegin opens a transaction whose commit does not wait for its WAL
// to reach the disk; one round trip (pgx sends a query without arguments
// over the simple protocol, which takes several statements).
const lazyBegin = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off"

// UpdateLazy runs fn in a write transaction with synchronous_commit off
// for it alone (fulfill.LazyUpdater): the commit returns without waiting
// for the WAL flush, which the WAL writer or the next durable commit does.
func (s *Store) UpdateLazy(ctx context.Context, fn func(fulfill.Tx) error) error {
	return s.run(ctx, pgx.TxOptions{BeginQuery: lazyBegin}, fn)
}

// View runs fn on a connection of the read pool. No BEGIN and no COMMIT:
// each statement is a read-only transaction of its own, which under READ
// COMMITTED (Update's level too) is what a View's statements saw inside
// one transaction anyway, each with its own snapshot; a write is refused
// as before (SQLSTATE 25006), and queueing a job is an error.
func (s *Store) View(ctx context.Context, fn func(fulfill.Tx) error) error {
	conn, err := s.reads.Acquire(ctx)
	if err != nil {
		return mapErr(err, "begin transaction")
	}
	defer conn.Release()
	return fn(&tx{tx: conn, q: s.queue, allocKey: s.allocKey})
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, fn func(fulfill.Tx) error) error {
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return mapErr(err, "begin transaction")
	}
	// Always roll back (a no-op after Commit), so that an error or a panic
	// in fn never leaks the connection. Its error is secondary to fn's.
	defer func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }()
	t := &tx{tx: ptx, ptx: ptx, q: s.queue, allocKey: s.allocKey}
	if err := fn(t); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return mapErr(err, "commit")
	}
	return nil
}

// Jobs returns the job queue that shares this database.
func (s *Store) Jobs() fulfill.JobQueue { return s.queue }

// Ping checks that PostgreSQL answers. EUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: "database is not answering", Err: err}
	}
	return nil
}

// Engine returns "postgres".
func (s *Store) Engine() string { return "postgres" }

// Close closes the pools. Stop the queue first.
func (s *Store) Close() error {
	s.closePools()
	return nil
}

func (s *Store) closePools() {
	s.reads.Close()
	s.pool.Close()
}

// Pool returns the underlying pool, for tests and tools.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
