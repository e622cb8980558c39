package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fulfill-dev/fulfill"
)

// Setting returns the value of a run-time parameter as the statements of
// t see it.
func Setting(ctx context.Context, t fulfill.Tx, name string) (string, error) {
	var v string
	err := t.(*tx).tx.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// ReadPool returns the pool of View.
func ReadPool(s *Store) *pgxpool.Pool { return s.reads }
