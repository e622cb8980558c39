// Command fulfill is Fulfill's one binary: the HTTP API and job workers
// (serve), schema migrations (migrate), CSV import (import) and API keys
// (keys). Run `fulfill help` for the commands and settings.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" && os.Getenv("GOMAXPROCS") == "" {
		// One more Go processor than cores: a payment batch is a long run
		// of CPU on one goroutine, and Go runs at most GOMAXPROCS goroutines
		// at once, so on 2 cores it held half of them for as long as it
		// ran and webhook acknowledgements queued behind it. With one more,
		// request handling runs beside it and the kernel shares the cores,
		// the payment stage's thread at a lower priority
		// (--pipeline-nice). GOMAXPROCS set in the environment wins.
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fulfill:", err)
		os.Exit(exitCode(err))
	}
}
