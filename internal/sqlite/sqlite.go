// Package sqlite is Fulfill's embedded storage engine: one SQLite file (pure
// Go, modernc.org/sqlite, no cgo) holding the catalog, stock, API keys and
// River's job tables, so that a job commits in the same transaction as the
// data it belongs to; and a second file, the webhook inbox, with a writer
// of its own (inbox.go).
//
// Connections: one writer *sql.DB with exactly one connection serves Update
// and River (River's SQLite driver requires a single connection, and SQLite
// has one writer anyway); a reader *sql.DB with several query_only
// connections serves View, which in WAL mode never waits for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	msqlite "modernc.org/sqlite"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

var (
	_ fulfill.Store         = (*Store)(nil)
	_ fulfill.SharedUpdater = (*Store)(nil)
)

// readerConns is the size of the read-only pool used by View.
const readerConns = 4

// busyTimeout is how long a statement waits for another process's write
// lock (a CLI import next to a running server) before failing with
// EUnavailable.
const busyTimeout = 5 * time.Second

// Config configures Open.
type Config struct {
	// Path is the database file; it is created when missing, and so is
	// the webhook inbox next to it (InboxPath).
	Path string
	// Synchronous is SQLite's synchronous setting: "NORMAL" (default) or
	// "FULL" (also "EXTRA").
	//
	// NORMAL in WAL mode still survives kill -9 of the process: a commit
	// has written its WAL frames with write(2) before it returns, so they
	// sit in the operating system's page cache, which outlives the process.
	// Only a crash of the operating system or a power cut can lose the most
	// recent commits (never corrupting the file). FULL fsyncs the WAL on
	// every commit to survive those too, at a cost in commits per second.
	Synchronous string
	// Queue configures the job queue; its Stats is filled in by Open.
	Queue queue.Config
	// Logger receives River's and the migrations' logs (default slog.Default()).
	Logger *slog.Logger
}

// checkpointEvery is how often the checkpointer copies committed WAL
// frames into the database file.
const checkpointEvery = 100 * time.Millisecond

// Store is the SQLite implementation of fulfill.Store.
type Store struct {
	pools
	// inbox is the webhook inbox file's (inbox.go).
	inbox    pools
	ckptStop chan struct{}
	ckptDone chan struct{}
	q        *queue.Queue[*sql.Tx]
	log      *slog.Logger
	// shared gathers UpdateShared calls (shared.go).
	shared sharer

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating when missing) the database at cfg.Path and builds
// its job queue. Call Migrate before first use. EInvalid for a bad config;
// EUnavailable when the file cannot be opened.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	syncMode, err := synchronous(cfg.Synchronous)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" || strings.ContainsAny(cfg.Path, "?#") {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "path", "database path must be a file name without '?' or '#'")
	}
	s := &Store{log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.pools, err = openPools(ctx, cfg.Path, syncMode, readerConns); err != nil {
		return nil, err
	}
	if s.inbox, err = openPools(ctx, InboxPath(cfg.Path), syncMode, inboxReaderConns); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.ckptStop, s.ckptDone = make(chan struct{}), make(chan struct{})
	go s.checkpointer()
	qc := cfg.Queue
	if qc.Stats == nil {
		qc.Stats = s.stats
	}
	if qc.Logger == nil {
		qc.Logger = s.log
	}
	if s.q, err = queue.New(riversqlite.New(s.writer), qc); err != nil {
		_ = s.Close()
		return nil, fulfill.Wrap(err, "build job queue")
	}
	return s, nil
}

func synchronous(v string) (string, error) {
	switch v = strings.ToUpper(v); v {
	case "":
		return "NORMAL", nil
	case "NORMAL", "FULL", "EXTRA":
		return v, nil
	}
	return "", fulfill.FieldErrorf(fulfill.EInvalid, "synchronous", "synchronous must be NORMAL or FULL")
}

// pools are one file's connections: one writer, a read-only pool, and the
// checkpointer's own connection (see checkpointer).
type pools struct {
	writer *sql.DB
	reader *sql.DB
	ckpt   *sql.DB
}

// openPools opens the writer first: it switches a new file to WAL, which
// the query_only readers cannot do.
func openPools(ctx context.Context, path, syncMode string, readers int) (pools, error) {
	w, err := openDB(ctx, path, 1, writerPragmas(syncMode), true)
	if err != nil {
		return pools{}, err
	}
	r, err := openDB(ctx, path, readers, readerPragmas(), false)
	if err != nil {
		_ = w.Close()
		return pools{}, err
	}
	c, err := openDB(ctx, path, 1, checkpointerPragmas(syncMode), false)
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return pools{}, err
	}
	return pools{writer: w, reader: r, ckpt: c}, nil
}

// close checkpoints what is left (so that the WAL does not outgrow the
// file) and closes the connections.
func (p pools) close() []error {
	var errs []error
	if p.ckpt != nil {
		_, err := p.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		errs = append(errs, err, p.ckpt.Close())
	}
	if p.reader != nil {
		errs = append(errs, p.reader.Close())
	}
	if p.writer != nil {
		errs = append(errs, p.writer.Close())
	}
	return errs
}

// checkpointer copies each file's WAL into the file every
// checkpointEvery, on its own connection, until Close. SQLite's automatic
// checkpoint (switched off on the writer) runs inside the commit that
// crosses 1,000 WAL pages, fsync included: that commit, and every write
// queued behind it on the single writer — webhook acknowledgements among
// them — waited several milliseconds. A PASSIVE checkpoint here takes no
// write lock: commits go on while it copies and syncs.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ckptStop:
			return
		case <-t.C:
		}
		for _, db := range []*sql.DB{s.ckpt, s.inbox.ckpt} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			var busy, logFrames, done int64
			err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
			cancel()
			if err != nil {
				s.log.Warn("sqlite checkpoint", "err", err)
			}
		}
	}
}

func writerPragmas(syncMode string) url.Values {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	q.Add("_pragma", "foreign_keys(1)")
	// The checkpointer's connection checkpoints, not the writer's commits.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	// BEGIN IMMEDIATE takes the write lock at the start of an Update, so a
	// transaction never fails half-way upgrading a read lock (SQLITE_BUSY
	// that busy_timeout cannot wait out).
	q.Set("_txlock", "immediate")
	return q
}

func checkpointerPragmas(syncMode string) url.Values {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "synchronous("+syncMode+")")
	return q
}

func readerPragmas() url.Values {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "query_only(1)")
	return q
}

// openDB opens a pool of conns connections; detach makes its statements
// ignore their context's cancellation (the writer's: see cachingConnector).
func openDB(ctx context.Context, path string, conns int, q url.Values, detach bool) (*sql.DB, error) {
	conn, err := msqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return nil, &fulfill.Error{Code: fulfill.EUnavailable, Message: "cannot open the database", Err: err}
	}
	db := sql.OpenDB(cachingConnector{inner: conn, detach: detach})
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, &fulfill.Error{Code: fulfill.EUnavailable, Message: "cannot open the database " + path, Err: err}
	}
	return db, nil
}

// Migrate applies Fulfill's migrations (goose, embedded), the inbox
// file's and River's.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrateInbox(ctx); err != nil {
		return err
	}
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return fulfill.Wrap(err, "migrations")
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fulfill.Wrap(err, "migrations")
	}
	if _, err := p.Up(ctx); err != nil {
		return fulfill.Wrap(err, "apply migrations")
	}
	if err := queue.Migrate(ctx, riversqlite.New(s.writer), "", s.log); err != nil {
		return fulfill.Wrap(err, "apply job queue migrations")
	}
	return s.alignInbox(ctx)
}

// Update runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection). fn must reach the database only through its Tx: the
// writer pool has one connection, which fn's transaction holds, so using
// the Store (or Jobs) from inside fn would wait forever.
func (s *Store) Update(ctx context.Context, fn func(fulfill.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err, "begin transaction")
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := fn(&txn{tx: tx, q: s.q, s: s}); err != nil {
		return err
	}
	return mapErr(tx.Commit(), "commit")
}

// View runs fn in a read-only transaction on the reader pool; it sees one
// consistent snapshot and never waits for writers.
func (s *Store) View(ctx context.Context, fn func(fulfill.Tx) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr(err, "begin read transaction")
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(&txn{tx: tx, q: s.q, s: s, readOnly: true}); err != nil {
		return err
	}
	return mapErr(tx.Commit(), "end read transaction")
}

// Jobs returns the job queue stored in this database.
func (s *Store) Jobs() fulfill.JobQueue { return s.q }

// Ping checks that the database answers. EUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.reader.ExecContext(ctx, "SELECT 1"); err != nil {
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: "database does not answer", Err: err}
	}
	return nil
}

// Engine returns "sqlite".
func (s *Store) Engine() string { return "sqlite" }

// Close closes both connection pools; stop the queue first. A second Close
// returns the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.ckptStop != nil {
			close(s.ckptStop)
			<-s.ckptDone
		}
		errs = append(errs, s.inbox.close()...)
		errs = append(errs, s.pools.close()...)
		s.closeErr = fulfill.Wrap(errors.Join(errs...), "close database")
	})
	return s.closeErr
}

// stats counts River's jobs with this engine's SQL, on the reader pool so
// that metrics never queue behind writes.
func (s *Store) stats(ctx context.Context) (fulfill.JobStats, error) {
	var st fulfill.JobStats
	rows, err := s.reader.QueryContext(ctx,
		`SELECT kind, state, count(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return st, mapErr(err, "job stats")
	}
	defer rows.Close()
	for rows.Next() {
		var c fulfill.JobCount
		var state string
		if err := rows.Scan(&c.Kind, &state, &c.Count); err != nil {
			return st, mapErr(err, "job stats")
		}
		c.State = queue.FromRiverState(state)
		st.Counts = append(st.Counts, c)
	}
	if err := rows.Err(); err != nil {
		return st, mapErr(err, "job stats")
	}
	// River stores times as "YYYY-MM-DD HH:MM:SS.sss" UTC text; julianday
	// reads that format. A job retried soon is available with a future
	// scheduled_at, hence the clamp at zero.
	var lag float64
	err = s.reader.QueryRowContext(ctx, `SELECT COALESCE(MAX(0, (julianday('now') - julianday(MIN(scheduled_at))) * 86400.0), 0)
		FROM river_job WHERE state = 'available'`).Scan(&lag)
	if err != nil {
		return st, mapErr(err, "job lag")
	}
	st.Lag = time.Duration(lag * float64(time.Second))
	return st, nil
}
