package main

import (
	"runtime"
	"runtime/debug"
)

// Runtime settings of `fulfill serve`, each unless its Go environment
// variable is set. They keep webhook acknowledgements from waiting behind
// the payment stage on a small machine (measured in BENCHMARKS.md).
const (
	// serveGCPercent: the server's live heap is a few megabytes, so with
	// Go's default (100) it collected 20-odd times a second at 1,000
	// webhooks/s, each time stopping every goroutine for a moment and
	// taking CPU from the requests; at 1000 it collects a few times a
	// second.
	serveGCPercent = 1000
	// serveMemoryLimit bounds what serveGCPercent may let the heap grow
	// to: past it Go collects as often as it must.
	serveMemoryLimit = 1 << 30
)

// tuneRuntime applies the serve settings:
//
//   - one more Go processor than cores (GOMAXPROCS): a payment batch is a
//     long run of CPU on one goroutine, and Go runs at most GOMAXPROCS
//     goroutines at once, so on 2 cores it held half of them for as long
//     as it ran and acknowledgements queued behind it. With one more,
//     request handling runs beside it and the kernel shares the cores, the
//     payment stage's thread at a lower priority (--pipeline-nice);
//   - GOGC serveGCPercent and GOMEMLIMIT serveMemoryLimit (see above).
func tuneRuntime(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
