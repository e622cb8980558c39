package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneRuntime: serve's runtime settings apply unless Go's own
// variables are set.
func TestTuneRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
	set := map[string]string{"GOMAXPROCS": "2", "GOGC": "100", "GOMEMLIMIT": "1GiB"}
	tuneRuntime(func(k string) string { return set[k] })
	if runtime.GOMAXPROCS(0) != procs || debug.SetGCPercent(100) != 100 {
		t.Fatal("tuneRuntime overrode Go's own variables")
	}
	tuneRuntime(func(string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != procs+1 {
		t.Errorf("GOMAXPROCS = %d, want %d", got, procs+1)
	}
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("GOGC = %d, want %d", got, serveGCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != serveMemoryLimit {
		t.Errorf("GOMEMLIMIT = %d, want %d", got, serveMemoryLimit)
	}
}
