// Command fulfill is Fulfill's one binary: the HTTP API and job workers
// (serve), schema migrations (migrate), CSV import (import) and API keys
// (keys). Run `fulfill help` for the commands and settings.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		tuneRuntime(os.Getenv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fulfill:", err)
		os.Exit(exitCode(err))
	}
}
