package fulfill

import (
	"context"
	"encoding/json"
	"time"
)

// JobArgs is the payload of a durable job. Kind names the handler; the value
// is stored as JSON. (The method set matches the queue library's, so any
// JobArgs can be enqueued without this package importing it.)
type JobArgs interface {
	Kind() string
}

// JobOpts tunes one enqueued job; the zero value means the queue's defaults.
type JobOpts struct {
	// MaxAttempts after which a failing job is kept as dead.
	MaxAttempts int
	// ScheduledAt delays the job; zero means now.
	ScheduledAt time.Time
	// UniqueByArgs makes a second identical job (same kind and args) a no-op
	// while the first is not yet completed.
	UniqueByArgs bool
	// UniquePeriod, when set with UniqueByArgs, bounds uniqueness to a
	// time bucket of this length.
	UniquePeriod time.Duration
	// Queue names the queue; empty is the default queue.
	Queue string
	// Coalesce skips the insert when a job of the same kind is already
	// waiting to run (available). A running job does not count, so work
	// that arrives while one runs always has a job after it. For jobs that
	// drain a table (process_payments drains the webhook inbox): one
	// waiting job serves every insert made before it starts.
	Coalesce bool
}

// JobState is where a job is in its life.
type JobState string

// Job states. Dead is a job that used up its attempts (or was discarded);
// it stays visible and can be retried.
const (
	JobAvailable JobState = "available"
	JobScheduled JobState = "scheduled"
	JobRunning   JobState = "running"
	JobRetryable JobState = "retryable"
	JobCompleted JobState = "completed"
	JobCancelled JobState = "cancelled"
	JobDead      JobState = "dead"
	JobPending   JobState = "pending"
)

// Valid reports whether s is a known job state.
func (s JobState) Valid() bool {
	switch s {
	case JobAvailable, JobScheduled, JobRunning, JobRetryable, JobCompleted, JobCancelled, JobDead, JobPending:
		return true
	}
	return false
}

// Job is a queued job as an operator sees it.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       JobState        `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Args        json.RawMessage `json:"args"`
	Errors      []string        `json:"errors"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	AttemptedAt *time.Time      `json:"attempted_at,omitempty"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
}

// JobFilter selects jobs for listing. Cursor is opaque, from a previous page.
type JobFilter struct {
	State  JobState
	Kind   string
	Cursor string
	Limit  int
}

// JobCount is the number of jobs of one kind in one state.
type JobCount struct {
	Kind  string
	State JobState
	Count int64
}

// JobStats is a snapshot of the queue for metrics.
type JobStats struct {
	Counts []JobCount
	// Lag is the age of the oldest job that is available to run now (zero
	// when none waits).
	Lag time.Duration
}

// JobQueue is the durable job queue seen from outside a transaction.
// Enqueueing happens inside a store transaction (Tx.Enqueue), so a job
// commits or rolls back with the data it belongs to.
type JobQueue interface {
	// List returns one page of jobs and the cursor of the next page ("" at
	// the end). EInvalid for a bad cursor or state.
	List(ctx context.Context, f JobFilter) ([]Job, string, error)
	// Get returns one job. ENotFound.
	Get(ctx context.Context, id int64) (*Job, error)
	// Retry makes a dead, cancelled or retryable job available to run now.
	// ENotFound.
	Retry(ctx context.Context, id int64) (*Job, error)
	// Stats counts jobs by kind and state and measures the queue lag.
	Stats(ctx context.Context) (JobStats, error)
	// Start begins working jobs; Stop waits for running jobs to finish.
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

type jobAttemptKey struct{}

// WithJobAttempt returns ctx carrying the attempt number of the running job
// (1 for the first run). The queue sets it before calling a handler.
func WithJobAttempt(ctx context.Context, attempt int) context.Context {
	return context.WithValue(ctx, jobAttemptKey{}, attempt)
}

// JobAttempt returns the running job's attempt number, or 0 outside a job.
func JobAttempt(ctx context.Context) int {
	n, _ := ctx.Value(jobAttemptKey{}).(int)
	return n
}
