package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// riverJob is River's job table, qualified when the store has a schema.
func (s *Store) riverJob() string {
	if s.schema == "" {
		return "river_job"
	}
	return pgx.Identifier{s.schema, "river_job"}.Sanitize()
}

// jobStats counts River's jobs by kind and state and measures the lag: how
// long the oldest job that may run now has been waiting.
func (s *Store) jobStats(ctx context.Context) (fulfill.JobStats, error) {
	var st fulfill.JobStats
	rows, _ := s.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM `+s.riverJob()+`
		GROUP BY kind, state ORDER BY kind, state`)
	counts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (fulfill.JobCount, error) {
		var c fulfill.JobCount
		var state string
		err := row.Scan(&c.Kind, &state, &c.Count)
		c.State = queue.FromRiverState(state)
		return c, err
	})
	if err != nil {
		return st, mapErr(err, "job stats")
	}
	st.Counts = counts
	// The lag is computed by the database clock, the one River schedules by.
	var micros int64
	err = s.pool.QueryRow(ctx, `SELECT coalesce(
			(extract(epoch FROM now() - min(scheduled_at)) * 1000000)::bigint, 0)
		FROM `+s.riverJob()+` WHERE state = 'available' AND scheduled_at <= now()`).Scan(&micros)
	if err != nil {
		return st, mapErr(err, "job lag")
	}
	st.Lag = time.Duration(max(micros, 0)) * time.Microsecond
	return st, nil
}
