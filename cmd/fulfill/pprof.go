//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on the default mux
	"os"
)

// A binary built with -tags pprof serves Go's profiler on
// FULFILL_PPROF_ADDR (default 127.0.0.1:6060), for finding what dominates
// under `fulfill load`. Release builds leave it out.
func init() {
	addr := os.Getenv("FULFILL_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
