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

	st, a, err := e.start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return e.serveHTTP(ctx, cfg, ln, st, a, log)
}

// start opens the store with its queue, starts the workers, loads the demo
// into an empty database and makes sure an admin key exists.
func (e *env) start(ctx context.Context, cfg *Config, log *slog.Logger) (fulfill.Store, *app.App, error) {
	// The handlers need the app, the app needs the store and the store
	// builds its queue from the registry: the closure breaks the circle.
	var a *app.App
	reg := queue.NewRegistry()
	queue.Handle(reg, func(ctx context.Context, args app.AuditStockArgs) error { return a.AuditStock(ctx, args) })
	reg.Periodic(time.Hour, app.AuditStockArgs{})
	qc := queue.Config{Registry: reg, Workers: cfg.Workers, Logger: log}
	if cfg.Workers == 0 {
		qc.Registry = nil // insert-only: this process works no jobs
	}
	st, err := openStore(ctx, cfg, qc, log)
	if err != nil {
		return nil, nil, err
	}
	a = app.New(st, app.Options{Clock: fulfill.SystemClock{}, Logger: log})
	// Jobs run on a context that SIGTERM does not cancel: Stop lets them
	// finish instead.
	if err := st.Jobs().Start(context.WithoutCancel(ctx)); err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	if err := e.prepare(ctx, cfg, st, a); err != nil {
		e.stop(ctx, cfg, nil, st)
		return nil, nil, err
	}
	return st, a, nil
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
func (e *env) serveHTTP(ctx context.Context, cfg *Config, ln net.Listener, st fulfill.Store, a *app.App, log *slog.Logger) error {
	srv := &http.Server{
		Handler: httpapi.New(httpapi.Config{
			App: a, Store: st, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, Version: version(),
		}),
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
	err := e.stop(ctx, cfg, srv, st)
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, err)
}

// stop shuts down in order, all within the shutdown timeout: the HTTP
// server (no new connections, in-flight requests finish), then the queue
// (no new jobs fetched, running jobs finish), then the database.
func (e *env) stop(ctx context.Context, cfg *Config, srv *http.Server, st fulfill.Store) error {
	fmt.Fprintf(e.stdout, "shutting down (up to %s): finishing in-flight requests and running jobs\n", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if err := st.Jobs().Stop(sctx); err != nil {
		errs = append(errs, fmt.Errorf("queue stop: %w", err))
	}
	if err := st.Close(); err != nil {
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
