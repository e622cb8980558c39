// Package queue wires Fulfill's durable jobs onto River. It is generic over
// the engine's transaction type so that the SQLite and PostgreSQL stores
// share one setup: retries with exponential backoff, a maximum attempt count
// after which a job is kept as dead, scheduled, periodic and unique jobs.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/fulfill-dev/fulfill"
)

// Registry collects job handlers and periodic jobs before a queue starts.
type Registry struct {
	workers  *river.Workers
	periodic []*river.PeriodicJob
	kinds    map[string]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{workers: river.NewWorkers(), kinds: map[string]bool{}}
}

// Handles reports whether a handler is registered for jobs of kind. A
// job of a kind without one can't be queued (River refuses the insert, and
// with it the transaction's work).
func (r *Registry) Handles(kind string) bool { return r.kinds[kind] }

// Handle registers h as the handler of jobs of T's kind. A handler that
// returns an error is retried with backoff until its attempts run out; one
// that returns an error wrapping Cancel(err) is dead at once.
func Handle[T fulfill.JobArgs](r *Registry, h func(ctx context.Context, args T) error) {
	var zero T
	r.kinds[zero.Kind()] = true
	river.AddWorker(r.workers, river.WorkFunc(func(ctx context.Context, j *river.Job[T]) error {
		err := h(fulfill.WithJobAttempt(ctx, j.Attempt), j.Args)
		var c *cancelError
		if errors.As(err, &c) {
			return river.JobCancel(c.err)
		}
		return err
	}))
}

// Periodic enqueues args every interval (and once at start), on the leader
// node only.
func (r *Registry) Periodic(interval time.Duration, args fulfill.JobArgs) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(
		river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: args.Kind()},
	))
}

type cancelError struct{ err error }

func (c *cancelError) Error() string { return c.err.Error() }
func (c *cancelError) Unwrap() error { return c.err }

// Cancel marks err as permanent: the job is not retried and is kept as dead.
func Cancel(err error) error { return &cancelError{err} }

// Config tunes a queue; zero fields take defaults.
type Config struct {
	Registry *Registry
	// Workers is how many jobs run at once (default 10).
	Workers int
	// MaxAttempts is the default attempt count before a job is dead (25).
	MaxAttempts int
	// RetryBase is the first retry delay; each later one doubles, capped at
	// RetryMax (defaults 1s and 1h).
	RetryBase time.Duration
	RetryMax  time.Duration
	// PollInterval bounds how long a job inserted by another process waits
	// to be noticed (default 1s; the same process notices at once).
	PollInterval time.Duration
	// JobTimeout cancels a job's context after this long (default 1m).
	JobTimeout time.Duration
	// Schema is the PostgreSQL schema of River's tables ("" = search_path).
	Schema string
	Logger *slog.Logger
	// Stats counts jobs by kind and state with the engine's own SQL.
	Stats func(ctx context.Context) (fulfill.JobStats, error)
}

// Queue is a River client bound to one engine's transaction type.
type Queue[TTx any] struct {
	client  *river.Client[TTx]
	stats   func(ctx context.Context) (fulfill.JobStats, error)
	working bool
	mu      sync.Mutex
	started bool
}

// Migrate creates or upgrades River's own tables.
func Migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], schema string, log *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema, Logger: log})
	if err != nil {
		return fmt.Errorf("queue migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("queue migrate: %w", err)
	}
	return nil
}

// New builds a queue on driver. With a nil Registry the queue only inserts
// and administers jobs; it never works them.
func New[TTx any](driver riverdriver.Driver[TTx], cfg Config) (*Queue[TTx], error) {
	rc := &river.Config{
		MaxAttempts:       orInt(cfg.MaxAttempts, 25),
		FetchPollInterval: orDur(cfg.PollInterval, time.Second),
		FetchCooldown:     50 * time.Millisecond,
		JobTimeout:        orDur(cfg.JobTimeout, time.Minute),
		RetryPolicy:       &backoff{base: orDur(cfg.RetryBase, time.Second), max: orDur(cfg.RetryMax, time.Hour)},
		Schema:            cfg.Schema,
		Logger:            cfg.Logger,
	}
	if rc.FetchCooldown > rc.FetchPollInterval {
		rc.FetchCooldown = rc.FetchPollInterval
	}
	q := &Queue[TTx]{stats: cfg.Stats}
	if cfg.Registry != nil {
		rc.Workers = cfg.Registry.workers
		rc.PeriodicJobs = cfg.Registry.periodic
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: orInt(cfg.Workers, 10)}}
		q.working = true
	} else {
		// An insert-only client cannot check kinds against workers.
		rc.SkipUnknownJobCheck = true
	}
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	q.client = c
	return q, nil
}

// Insert enqueues args in the caller's transaction.
func (q *Queue[TTx]) Insert(ctx context.Context, tx TTx, args fulfill.JobArgs, opts *fulfill.JobOpts) error {
	if opts != nil && opts.Coalesce {
		waiting, err := q.client.JobListTx(ctx, tx, river.NewJobListParams().
			Kinds(args.Kind()).States(rivertype.JobStateAvailable).First(1))
		if err != nil {
			return fulfill.Wrap(err, "enqueue "+args.Kind())
		}
		if len(waiting.Jobs) > 0 {
			return nil
		}
	}
	if _, err := q.client.InsertTx(ctx, tx, args, insertOpts(opts)); err != nil {
		return fulfill.Wrap(err, "enqueue "+args.Kind())
	}
	return nil
}

func insertOpts(o *fulfill.JobOpts) *river.InsertOpts {
	if o == nil {
		return nil
	}
	ro := &river.InsertOpts{MaxAttempts: o.MaxAttempts, ScheduledAt: o.ScheduledAt, Queue: o.Queue}
	if o.UniqueByArgs {
		// Unique only while the first job has yet to finish: River's default
		// also counts completed jobs, which would drop every later job with
		// the same args for good.
		ro.UniqueOpts = river.UniqueOpts{ByArgs: true, ByPeriod: o.UniquePeriod, ByState: uniqueStates}
	}
	return ro
}

// uniqueStates are the states in which a job blocks an identical insert:
// River's required set (pending, scheduled, available, running) plus
// retryable.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// Start begins working jobs (a no-op for an insert-only queue).
func (q *Queue[TTx]) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.working || q.started {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fulfill.Wrap(err, "start queue")
	}
	q.started = true
	return nil
}

// Stop stops fetching and waits for running jobs, until ctx ends; then it
// cancels what still runs.
func (q *Queue[TTx]) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		return nil
	}
	q.started = false
	if err := q.client.Stop(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return q.client.StopAndCancel(cctx)
		}
		return err
	}
	return nil
}

// Get returns one job.
func (q *Queue[TTx]) Get(ctx context.Context, id int64) (*fulfill.Job, error) {
	row, err := q.client.JobGet(ctx, id)
	if err != nil {
		return nil, notFound(err, id)
	}
	j := toJob(row)
	return &j, nil
}

// Retry makes a job available to run now.
func (q *Queue[TTx]) Retry(ctx context.Context, id int64) (*fulfill.Job, error) {
	row, err := q.client.JobRetry(ctx, id)
	if err != nil {
		return nil, notFound(err, id)
	}
	j := toJob(row)
	return &j, nil
}

// List returns one page of jobs, newest first.
func (q *Queue[TTx]) List(ctx context.Context, f fulfill.JobFilter) ([]fulfill.Job, string, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	p := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if f.State != "" {
		if !f.State.Valid() {
			return nil, "", fulfill.FieldErrorf(fulfill.EInvalid, "state", "unknown job state %q", f.State)
		}
		p = p.States(toRiverState(f.State))
	}
	if f.Kind != "" {
		p = p.Kinds(f.Kind)
	}
	if f.Cursor != "" {
		var cur river.JobListCursor
		if err := cur.UnmarshalText([]byte(f.Cursor)); err != nil {
			return nil, "", fulfill.FieldErrorf(fulfill.EInvalid, "cursor", "cursor is not one this server returned")
		}
		p = p.After(&cur)
	}
	res, err := q.client.JobList(ctx, p)
	if err != nil {
		return nil, "", fulfill.Wrap(err, "list jobs")
	}
	jobs := make([]fulfill.Job, 0, len(res.Jobs))
	for _, r := range res.Jobs {
		jobs = append(jobs, toJob(r))
	}
	next := ""
	if len(res.Jobs) == limit && res.LastCursor != nil {
		b, err := res.LastCursor.MarshalText()
		if err != nil {
			return nil, "", fulfill.Wrap(err, "job cursor")
		}
		next = string(b)
	}
	return jobs, next, nil
}

// Stats counts jobs by kind and state.
func (q *Queue[TTx]) Stats(ctx context.Context) (fulfill.JobStats, error) {
	if q.stats == nil {
		return fulfill.JobStats{}, nil
	}
	return q.stats(ctx)
}

func notFound(err error, id int64) error {
	if errors.Is(err, rivertype.ErrNotFound) {
		return fulfill.Errorf(fulfill.ENotFound, "job %d not found", id)
	}
	return fulfill.Wrap(err, "job")
}

// FromRiverState maps River's state names to Fulfill's ("discarded" is
// "dead").
func FromRiverState(s string) fulfill.JobState {
	if s == string(rivertype.JobStateDiscarded) {
		return fulfill.JobDead
	}
	return fulfill.JobState(s)
}

func toRiverState(s fulfill.JobState) rivertype.JobState {
	if s == fulfill.JobDead {
		return rivertype.JobStateDiscarded
	}
	return rivertype.JobState(s)
}

func toJob(r *rivertype.JobRow) fulfill.Job {
	j := fulfill.Job{
		ID: r.ID, Kind: r.Kind, Queue: r.Queue, State: FromRiverState(string(r.State)),
		Attempt: r.Attempt, MaxAttempts: r.MaxAttempts, Args: r.EncodedArgs,
		CreatedAt: r.CreatedAt, ScheduledAt: r.ScheduledAt,
		AttemptedAt: r.AttemptedAt, FinalizedAt: r.FinalizedAt, Errors: []string{},
	}
	for _, e := range r.Errors {
		j.Errors = append(j.Errors, e.Error)
	}
	return j
}

// backoff retries after base·2^(attempt-1), capped at max, with ±10 % jitter
// so that many failing jobs do not retry in lockstep.
type backoff struct{ base, max time.Duration }

func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	n := max(job.Attempt-1, 0)
	d := float64(b.base) * math.Pow(2, float64(min(n, 40)))
	if d > float64(b.max) {
		d = float64(b.max)
	}
	jitter := 0.9 + 0.2*float64(time.Now().UnixNano()%1000)/1000
	return time.Now().Add(time.Duration(d * jitter))
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}
