package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// testJob is the job kind the suite registers; Key tells runs apart.
type testJob struct {
	Key string `json:"key"`
}

// Kind implements fulfill.JobArgs.
func (testJob) Kind() string { return "storetest_job" }

// otherJob is a second kind, for statistics.
type otherJob struct{}

// Kind implements fulfill.JobArgs.
func (otherJob) Kind() string { return "storetest_other" }

var jobTests = map[string]func(*testing.T, Harness){
	"RolledBackNeverRuns":  testJobRolledBack,
	"CommittedRuns":        testJobCommittedRuns,
	"SurvivesRestart":      testJobSurvivesRestart,
	"RetriedThenDead":      testJobDeadAndRetry,
	"ScheduledWaits":       testJobScheduled,
	"UniqueByArgs":         testJobUnique,
	"UniqueAfterComplete":  testJobUniqueAfterComplete,
	"Coalesce":             testJobCoalesce,
	"CoalesceWhileRunning": testJobCoalesceWhileRunning,
	"Stats":                testJobStats,
	"GetRetryNotFound":     testJobNotFound,
}

// worker runs testJobs: it counts runs per key and fails keys listed in
// failing.
type worker struct {
	runs    counter
	failing counter // a key with a non-zero count fails
}

func (w *worker) config() queue.Config {
	reg := queue.NewRegistry()
	queue.Handle(reg, func(ctx context.Context, a testJob) error {
		w.runs.add(a.Key)
		if w.failing.get(a.Key) > 0 {
			return errors.New("storetest: failing on purpose")
		}
		return nil
	})
	return jobConfig(reg)
}

func jobConfig(reg *queue.Registry) queue.Config {
	return queue.Config{
		Registry: reg, Workers: 4, MaxAttempts: 3,
		RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, JobTimeout: 10 * time.Second,
		Logger: quietLogger(),
	}
}

func enqueue(t testing.TB, s fulfill.Store, args fulfill.JobArgs, opts *fulfill.JobOpts) {
	t.Helper()
	update(t, s, func(tx fulfill.Tx) error { return tx.Enqueue(t.Context(), args, opts) })
}

func listJobs(t testing.TB, s fulfill.Store, f fulfill.JobFilter) []fulfill.Job {
	t.Helper()
	jobs, _, err := s.Jobs().List(t.Context(), f)
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	return jobs
}

func jobKey(t testing.TB, j fulfill.Job) string {
	var a testJob
	if err := json.Unmarshal(j.Args, &a); err != nil {
		t.Fatalf("job args %s: %v", j.Args, err)
	}
	return a.Key
}

const jobWait = 15 * time.Second

func testJobRolledBack(t *testing.T, h Harness) {
	var w worker
	s := h.Open(t, h.NewDB(t), w.config())
	startJobs(t, s)
	err := s.Update(t.Context(), func(tx fulfill.Tx) error {
		if err := tx.Enqueue(t.Context(), testJob{Key: "rolled-back"}, nil); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want the fn's error", err)
	}
	enqueue(t, s, testJob{Key: "marker"}, nil)
	waitFor(t, jobWait, "marker job", func() bool { return w.runs.get("marker") == 1 })
	if n := w.runs.get("rolled-back"); n != 0 {
		t.Fatalf("rolled-back job ran %d times", n)
	}
	jobs := listJobs(t, s, fulfill.JobFilter{Kind: testJob{}.Kind()})
	if len(jobs) != 1 || jobKey(t, jobs[0]) != "marker" {
		t.Fatalf("jobs = %+v, want only the marker", jobs)
	}
}

func testJobCommittedRuns(t *testing.T, h Harness) {
	var w worker
	s := h.Open(t, h.NewDB(t), w.config())
	startJobs(t, s)
	enqueue(t, s, testJob{Key: "a"}, nil)
	waitFor(t, jobWait, "job to run", func() bool { return w.runs.get("a") == 1 })
	waitFor(t, jobWait, "job to complete", func() bool {
		jobs := listJobs(t, s, fulfill.JobFilter{State: fulfill.JobCompleted})
		return len(jobs) == 1 && jobs[0].Kind == "storetest_job"
	})
	j := listJobs(t, s, fulfill.JobFilter{})[0]
	got, err := s.Jobs().Get(t.Context(), j.ID)
	if err != nil || got.State != fulfill.JobCompleted || got.Attempt != 1 || got.FinalizedAt == nil {
		t.Fatalf("Get = %+v, %v; want completed after 1 attempt", got, err)
	}
}

func testJobSurvivesRestart(t *testing.T, h Harness) {
	db := h.NewDB(t)
	first := h.Open(t, db, queue.Config{Logger: quietLogger()}) // inserts only
	enqueue(t, first, testJob{Key: "durable"}, nil)
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var w worker
	second := h.Open(t, db, w.config())
	startJobs(t, second)
	waitFor(t, jobWait, "job enqueued before the restart", func() bool { return w.runs.get("durable") == 1 })
}

func testJobDeadAndRetry(t *testing.T, h Harness) {
	var w worker
	w.failing.add("flaky")
	s := h.Open(t, h.NewDB(t), w.config())
	startJobs(t, s)
	enqueue(t, s, testJob{Key: "flaky"}, &fulfill.JobOpts{MaxAttempts: 2})
	var dead []fulfill.Job
	waitFor(t, jobWait, "job to be dead", func() bool {
		dead = listJobs(t, s, fulfill.JobFilter{State: fulfill.JobDead, Kind: "storetest_job"})
		return len(dead) == 1
	})
	j := dead[0]
	if j.Attempt != 2 || w.runs.get("flaky") != 2 || len(j.Errors) != 2 || j.State != fulfill.JobDead {
		t.Fatalf("dead job = %+v after %d runs; want 2 attempts with 2 errors", j, w.runs.get("flaky"))
	}
	w.failing.set("flaky", 0)
	if _, err := s.Jobs().Retry(t.Context(), j.ID); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	waitFor(t, jobWait, "retried job to complete", func() bool {
		got, err := s.Jobs().Get(t.Context(), j.ID)
		return err == nil && got.State == fulfill.JobCompleted
	})
	if n := w.runs.get("flaky"); n != 3 {
		t.Fatalf("job ran %d times, want 3", n)
	}
}

func testJobScheduled(t *testing.T, h Harness) {
	var w worker
	s := h.Open(t, h.NewDB(t), w.config())
	startJobs(t, s)
	enqueue(t, s, testJob{Key: "later"}, &fulfill.JobOpts{ScheduledAt: time.Now().Add(time.Hour)})
	enqueue(t, s, testJob{Key: "now"}, nil)
	waitFor(t, jobWait, "unscheduled job", func() bool { return w.runs.get("now") == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := w.runs.get("later"); n != 0 {
		t.Fatalf("job scheduled in an hour ran %d times", n)
	}
	jobs := listJobs(t, s, fulfill.JobFilter{State: fulfill.JobScheduled})
	if len(jobs) != 1 || jobKey(t, jobs[0]) != "later" || jobs[0].ScheduledAt.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("scheduled jobs = %+v", jobs)
	}
}

func testJobUnique(t *testing.T, h Harness) {
	s := open(t, h)
	opts := &fulfill.JobOpts{UniqueByArgs: true}
	enqueue(t, s, testJob{Key: "once"}, opts)
	enqueue(t, s, testJob{Key: "once"}, opts)
	update(t, s, func(tx fulfill.Tx) error { // twice in one transaction too
		if err := tx.Enqueue(t.Context(), testJob{Key: "once"}, opts); err != nil {
			return err
		}
		return tx.Enqueue(t.Context(), testJob{Key: "other"}, opts)
	})
	jobs := listJobs(t, s, fulfill.JobFilter{Kind: "storetest_job"})
	if len(jobs) != 2 {
		t.Fatalf("%d jobs, want 2 (one per distinct args)", len(jobs))
	}
}

// testJobUniqueAfterComplete: uniqueness lasts while the first job waits or
// runs; once it completed, the same args can be enqueued and run again.
func testJobUniqueAfterComplete(t *testing.T, h Harness) {
	var w worker
	s := h.Open(t, h.NewDB(t), w.config())
	startJobs(t, s)
	opts := &fulfill.JobOpts{UniqueByArgs: true}
	enqueue(t, s, testJob{Key: "again"}, opts)
	waitFor(t, jobWait, "first run to complete", func() bool {
		return len(listJobs(t, s, fulfill.JobFilter{State: fulfill.JobCompleted})) == 1
	})
	enqueue(t, s, testJob{Key: "again"}, opts)
	waitFor(t, jobWait, "second run", func() bool { return w.runs.get("again") == 2 })
}

// testJobCoalesce: a coalesced insert is skipped while a job of its kind
// waits to run, whatever its args; other kinds are not affected.
func testJobCoalesce(t *testing.T, h Harness) {
	s := open(t, h)
	opts := &fulfill.JobOpts{Coalesce: true}
	enqueue(t, s, testJob{Key: "a"}, opts)
	enqueue(t, s, testJob{Key: "b"}, opts)
	update(t, s, func(tx fulfill.Tx) error {
		if err := tx.Enqueue(t.Context(), testJob{Key: "c"}, opts); err != nil {
			return err
		}
		return tx.Enqueue(t.Context(), otherJob{}, opts)
	})
	jobs := listJobs(t, s, fulfill.JobFilter{Kind: testJob{}.Kind()})
	if len(jobs) != 1 || jobKey(t, jobs[0]) != "a" {
		t.Fatalf("jobs = %+v, want only the first", jobs)
	}
	if n := len(listJobs(t, s, fulfill.JobFilter{Kind: otherJob{}.Kind()})); n != 1 {
		t.Fatalf("%d jobs of another kind, want 1", n)
	}
	enqueue(t, s, testJob{Key: "d"}, nil) // without the option: always inserted
	if n := len(listJobs(t, s, fulfill.JobFilter{Kind: testJob{}.Kind()})); n != 2 {
		t.Fatalf("%d jobs after a plain insert, want 2", n)
	}
}

// testJobCoalesceWhileRunning: a running job does not absorb a coalesced
// insert (the work it drains may have been read already), so one more job
// waits behind it, and only one.
func testJobCoalesceWhileRunning(t *testing.T, h Harness) {
	started, release := make(chan string, 4), make(chan struct{})
	reg := queue.NewRegistry()
	queue.Handle(reg, func(ctx context.Context, a testJob) error {
		started <- a.Key
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	cfg := jobConfig(reg)
	cfg.Workers = 1
	s := h.Open(t, h.NewDB(t), cfg)
	startJobs(t, s)
	defer close(release)
	opts := &fulfill.JobOpts{Coalesce: true}
	enqueue(t, s, testJob{Key: "first"}, opts)
	select {
	case <-started:
	case <-time.After(jobWait):
		t.Fatal("first job did not start")
	}
	enqueue(t, s, testJob{Key: "second"}, opts)
	enqueue(t, s, testJob{Key: "third"}, opts)
	jobs := listJobs(t, s, fulfill.JobFilter{Kind: testJob{}.Kind()})
	if len(jobs) != 2 || jobKey(t, jobs[0]) != "second" || jobs[0].State != fulfill.JobAvailable {
		t.Fatalf("jobs = %+v, want the running one and one available (second)", jobs)
	}
}

func testJobStats(t *testing.T, h Harness) {
	s := open(t, h)
	enqueue(t, s, testJob{Key: "a"}, nil)
	enqueue(t, s, testJob{Key: "b"}, nil)
	enqueue(t, s, otherJob{}, nil)
	enqueue(t, s, testJob{Key: "c"}, &fulfill.JobOpts{ScheduledAt: time.Now().Add(time.Hour)})
	time.Sleep(20 * time.Millisecond)
	st, err := s.Jobs().Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	got := map[string]int64{}
	for _, c := range st.Counts {
		got[c.Kind+"/"+string(c.State)] += c.Count
	}
	want := map[string]int64{"storetest_job/available": 2, "storetest_other/available": 1, "storetest_job/scheduled": 1}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("stats %s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("stats = %v, want %v", got, want)
	}
	if st.Lag <= 0 || st.Lag > time.Minute {
		t.Fatalf("lag = %s, want the age of the oldest available job", st.Lag)
	}
}

func testJobNotFound(t *testing.T, h Harness) {
	s := open(t, h)
	_, err := s.Jobs().Get(t.Context(), 424242)
	wantCode(t, err, fulfill.ENotFound)
	_, err = s.Jobs().Retry(t.Context(), 424242)
	wantCode(t, err, fulfill.ENotFound)
	_, _, err = s.Jobs().List(t.Context(), fulfill.JobFilter{State: "bogus"})
	wantCode(t, err, fulfill.EInvalid)
}
