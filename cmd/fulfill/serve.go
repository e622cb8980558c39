package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/demo"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/httpapi"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// serve is `fulfill serve`: the HTTP API and, unless --workers 0, the job
// workers, until ctx ends (SIGINT or SIGTERM); then in-flight requests and
// running jobs finish within the shutdown timeout.
func (e *env) serve(ctx context.Context, args []string) error {
	cfg, pos, err := e.flags("serve", args, nil)
	if err != nil {
		return helped(err)
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos)
	}
	// Listen first: a taken port fails before any database work, and
	// --addr 127.0.0.1:0 learns its real port here.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	fmt.Fprintf(e.stdout, "fulfill %s\n", version())
	cfg.Print(e.stdout)
	log := cfg.Logger(e.stderr)

	n, err := e.start(ctx, cfg, ln.Addr(), log)
	if err != nil {
		return err
	}
	return e.serveHTTP(ctx, cfg, ln, n, log)
}

// node is one running serve process's parts.
type node struct {
	st    fulfill.Store
	app   *app.App
	gw    *gatewaySet
	redis *redis.Client
	// stopSweeper stops the sandbox's auto-confirm sweeper and waits for
	// it; nil when none runs.
	stopSweeper func()
}

// start opens the store with its queue, builds the gateways and the app,
// starts the workers, loads the demo into an empty database and makes sure
// an admin key exists. addr is the listen address (the sandbox's default
// webhook target).
func (e *env) start(ctx context.Context, cfg *Config, addr net.Addr, log *slog.Logger) (*node, error) {
	// The handlers need the app and the gateways, which need the store,
	// which builds its queue from the registry: the node pointer breaks the
	// circle.
	n := &node{}
	// On SQLite a job is noticed by polling: River's wake-up on insert runs
	// before the inserting transaction commits, so it finds nothing, and
	// the poll interval bounds how long a committed job waits.
	qc := queue.Config{Registry: registerJobs(n, cfg.Pipeline.OrderTTL, cfg.Pipeline.HoldTTL), Workers: cfg.Workers, Logger: log, PollInterval: cfg.Pipeline.QueuePollInterval}
	if cfg.Workers == 0 {
		qc.Registry = nil // insert-only: this process works no jobs
	}
	st, err := openStore(ctx, cfg, qc, log)
	if err != nil {
		return nil, err
	}
	n.st = st
	if err := n.build(ctx, cfg, addr, log); err != nil {
		e.stop(ctx, cfg, nil, n)
		return nil, err
	}
	// Jobs run on a context that SIGTERM does not cancel: Stop lets them
	// finish instead.
	if err := st.Jobs().Start(context.WithoutCancel(ctx)); err != nil {
		e.stop(ctx, cfg, nil, n)
		return nil, err
	}
	n.startSweeper(ctx, cfg, log)
	if err := e.prepare(ctx, cfg, st, n.app); err != nil {
		e.stop(ctx, cfg, nil, n)
		return nil, err
	}
	return n, nil
}

// startSweeper starts the sandbox's auto-confirm sweeper on a process
// that works jobs, when the sandbox confirms payments by itself. Like the
// jobs, it runs on a context SIGTERM does not cancel: stop ends it before
// the queue, so that its last batch job is worked or left queued.
func (n *node) startSweeper(ctx context.Context, cfg *Config, log *slog.Logger) {
	if cfg.Workers == 0 || n.gw.sandbox == nil || cfg.Pipeline.SandboxAutoConfirmMS <= 0 {
		return
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.gw.sandbox.RunAutoConfirm(sctx, log)
	}()
	n.stopSweeper = func() {
		cancel()
		<-done
	}
}

// build makes the gateways, the Redis client and the app on n's store.
func (n *node) build(ctx context.Context, cfg *Config, addr net.Addr, log *slog.Logger) error {
	gs, err := buildGateways(cfg, n.st, addr)
	if err != nil {
		return err
	}
	opts, err := appOptions(cfg, gs, log)
	if err != nil {
		return err
	}
	if n.redis, err = openRedis(ctx, cfg.Pipeline.RedisURL, log); err != nil {
		return err
	}
	n.gw, n.app = gs, app.New(n.st, opts)
	return nil
}

// prepare loads the demo when wanted, prints the bootstrap key and, on an
// API-only node, enqueues the start-up audit for the worker nodes.
func (e *env) prepare(ctx context.Context, cfg *Config, st fulfill.Store, a *app.App) error {
	if cfg.LoadDemo() {
		if err := e.loadDemoIfEmpty(ctx, a); err != nil {
			return err
		}
	}
	secret, created, err := a.EnsureBootstrapKey(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap admin key: %w", err)
	}
	if created {
		fmt.Fprintf(e.stdout, "admin key (shown once): %s\n", secret)
	} else {
		fmt.Fprintln(e.stdout, "API keys exist; to create another: fulfill keys create --role admin")
	}
	if cfg.Workers > 0 {
		return nil // the periodic audit runs on start by itself
	}
	fmt.Fprintln(e.stdout, "workers 0: this process works no jobs; queueing the start-up stock audit for a worker")
	return st.Update(ctx, func(tx fulfill.Tx) error {
		return tx.Enqueue(ctx, app.AuditStockArgs{}, &fulfill.JobOpts{UniqueByArgs: true, UniquePeriod: time.Hour})
	})
}

func (e *env) loadDemoIfEmpty(ctx context.Context, a *app.App) error {
	empty, err := a.IsEmpty(ctx)
	if err != nil || !empty {
		return err
	}
	reports, err := a.LoadDemo(ctx, demo.FS, nil)
	if err != nil {
		return fmt.Errorf("load the demo data: %w", err)
	}
	fmt.Fprint(e.stdout, "loaded the demo data into the empty database:")
	for _, r := range reports {
		fmt.Fprintf(e.stdout, " %s %d", r.Kind, r.Created+r.Updated+r.Unchanged)
		if len(r.Rejected) > 0 {
			fmt.Fprintf(e.stdout, " (%d rejected)", len(r.Rejected))
		}
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// serveHTTP serves until ctx ends or the server fails, then shuts down.
func (e *env) serveHTTP(ctx context.Context, cfg *Config, ln net.Listener, n *node, log *slog.Logger) error {
	hc := httpapi.Config{
		App: n.app, Store: n.st, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, Version: version(),
		CheckoutRate: httpapi.RateLimit{
			PerIP: cfg.Pipeline.CheckoutRatePerIP, PerKey: cfg.Pipeline.CheckoutRatePerKey, Window: cfg.Pipeline.CheckoutRateWindow,
		},
	}
	if n.redis != nil {
		hc.Redis = n.redis
	}
	srv := &http.Server{
		Handler:           httpapi.New(hc),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	printURLs(e.stdout, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	err := e.stop(ctx, cfg, srv, n)
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, err)
}

// stop shuts down in order, all within the shutdown timeout: the HTTP
// server (no new connections, in-flight requests finish), the app's webhook
// batcher (what it holds is committed), the sandbox's auto-confirm sweeper
// (a sweep in flight is cancelled and rolls back), the queue (no new jobs fetched,
// running jobs finish), then Redis and the database.
func (e *env) stop(ctx context.Context, cfg *Config, srv *http.Server, n *node) error {
	fmt.Fprintf(e.stdout, "shutting down (up to %s): finishing in-flight requests and running jobs\n", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if n.app != nil {
		if err := n.app.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the app: %w", err))
		}
	}
	if n.stopSweeper != nil {
		n.stopSweeper()
	}
	if err := n.st.Jobs().Stop(sctx); err != nil {
		errs = append(errs, fmt.Errorf("queue stop: %w", err))
	}
	if n.redis != nil {
		_ = n.redis.Close()
	}
	if err := n.st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	fmt.Fprintln(e.stdout, "stopped")
	return errors.Join(errs...)
}

// printURLs tells the operator where things are; "listening on" comes last
// so that a reader of the output (a test, a script) knows the server is
// about to accept (the socket is already bound).
func printURLs(w io.Writer, addr net.Addr) {
	base := "http://" + addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		base = fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	fmt.Fprintf(w, "API:      %s/v1/\n", base)
	fmt.Fprintf(w, "health:   %s/healthz  %s/readyz\n", base, base)
	fmt.Fprintf(w, "metrics:  %s/metrics\n", base)
	fmt.Fprintf(w, "OpenAPI:  %s/openapi.yaml\n", base)
	fmt.Fprintf(w, "listening on http://%s\n", addr)
}
