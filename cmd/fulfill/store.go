package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/postgres"
	"github.com/fulfill-dev/fulfill/internal/queue"
	"github.com/fulfill-dev/fulfill/internal/sqlite"
)

// migratingStore is a store that can create its own schema; both engines
// are.
type migratingStore interface {
	fulfill.Store
	Migrate(ctx context.Context) error
}

// openStore opens the engine the configuration names, with the job queue
// configured by qc, and brings its schema up to date.
func openStore(ctx context.Context, cfg *Config, qc queue.Config, log *slog.Logger) (fulfill.Store, error) {
	st, err := openEngine(ctx, cfg, qc, log)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("migrate %s: %w", st.Engine(), err)
	}
	return st, nil
}

func openEngine(ctx context.Context, cfg *Config, qc queue.Config, log *slog.Logger) (migratingStore, error) {
	engine, target, err := cfg.Engine()
	if err != nil {
		return nil, err
	}
	if engine == "postgres" {
		st, err := postgres.Open(ctx, postgres.Config{URL: target, Schema: cfg.DatabaseSchema, Queue: qc, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL %s: %w", maskURL(target), err)
		}
		return st, nil
	}
	// The data folder holds the database file, its WAL and nothing secret
	// beyond key hashes; keep it private to the user.
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return nil, fmt.Errorf("create the data folder: %w", err)
	}
	st, err := sqlite.Open(ctx, sqlite.Config{Path: target, Synchronous: cfg.SQLiteSynchronous, Queue: qc, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", target, err)
	}
	return st, nil
}

// migrate is `fulfill migrate`: bring the schema (Fulfill's and the job
// queue's) up to date and exit.
func (e *env) migrate(ctx context.Context, args []string) error {
	cfg, pos, err := e.flags("migrate", args, nil)
	if err != nil {
		return helped(err)
	}
	if len(pos) > 0 {
		return usagef("migrate takes no arguments, got %q", pos)
	}
	log := cfg.Logger(e.stderr)
	st, err := openStore(ctx, cfg, queue.Config{Logger: log}, log)
	if err != nil {
		return err
	}
	engine, target, _ := cfg.Engine()
	fmt.Fprintf(e.stdout, "migrated %s %s\n", engine, maskURL(target))
	return st.Close()
}
