// Package app holds Fulfill's use cases: the business rules above the
// store. Each use case validates its input with the domain's rules, runs in
// one store transaction and names the actor who asked for it. It imports only
// the domain package and the standard library, so it never knows which
// database or transport it runs on.
package app

import (
	"log/slog"

	"github.com/fulfill-dev/fulfill"
)

// Actors that are not API keys.
const (
	// ActorImport is the actor of CSV imports and the demo loader.
	ActorImport = "import"
	// ActorSystem is the actor of background jobs.
	ActorSystem = "system"
)

// Options configures an App; zero fields take defaults.
type Options struct {
	// Clock tells the time (default fulfill.SystemClock).
	Clock fulfill.Clock
	// Logger receives audit and error logs (default slog.Default()).
	Logger *slog.Logger
}

// App runs Fulfill's use cases against one store.
type App struct {
	store fulfill.Store
	clock fulfill.Clock
	log   *slog.Logger
}

// New returns an App on store s.
func New(s fulfill.Store, o Options) *App {
	a := &App{store: s, clock: o.Clock, log: o.Logger}
	if a.clock == nil {
		a.clock = fulfill.SystemClock{}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}
