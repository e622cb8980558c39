package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// env is what a command gets from its process: the environment and the
// two output streams. Tests pass their own.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// usageError is a mistake on the command line; main exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitCode maps run's error to the process's exit status.
func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// run is the whole program: main only adds signals and the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		e.usage(stderr)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return e.serve(ctx, rest)
	case "migrate":
		return e.migrate(ctx, rest)
	case "import":
		return e.importCmd(ctx, rest)
	case "keys":
		return e.keys(ctx, rest)
	case "load":
		return e.load(ctx, rest)
	case "version", "--version":
		fmt.Fprintf(stdout, "fulfill %s (%s)\n", version(), runtime.Version())
		return nil
	case "help", "-h", "-help", "--help":
		e.usage(stdout)
		return nil
	}
	e.usage(stderr)
	return usagef("unknown command %q", cmd)
}

// flags parses a command's arguments: the shared settings plus the
// command's own flags (added by extra), allowing flags before, between and
// after the positional arguments. It returns the configuration, validated,
// and the positional arguments.
func (e *env) flags(name string, args []string, extra func(fs *flag.FlagSet)) (*Config, []string, error) {
	fs := flag.NewFlagSet("fulfill "+name, flag.ContinueOnError)
	// The flag package's own messages are silenced: run returns the error
	// once, and -h prints the flags below.
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, e.getenv, commandDefaults(name))
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	if extra != nil {
		extra(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(e.stdout, "Usage of fulfill %s:\n", name)
				fs.SetOutput(e.stdout)
				fs.PrintDefaults()
				return nil, nil, errHelp
			}
			return nil, nil, usagef("%s: %v (see fulfill %s -h)", name, err, name)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, usagef("invalid configuration:\n%v", err)
	}
	return cfg, pos, nil
}

// commandDefaults are the defaults a command changes: the one-shot import
// and keys commands log only warnings unless asked, so that their output
// is their result.
func commandDefaults(name string) map[string]string {
	if name == "serve" || name == "migrate" {
		return nil
	}
	return map[string]string{"log-level": "warn"}
}

// errHelp is returned by flags after -h printed the flags; commands turn it
// into success.
var errHelp = errors.New("help requested")

// helped turns errHelp into success.
func helped(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// version is the module version the binary was built from, or its VCS
// revision, or "dev".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}

func (e *env) usage(w io.Writer) {
	fmt.Fprint(w, `fulfill - an order-fulfillment engine

Usage:
  fulfill serve [flags]                         run the HTTP API and the job workers
  fulfill migrate [flags]                       create or upgrade the database schema
  fulfill import [flags] KIND FILE.csv          import products, warehouses, bins or stock
  fulfill import [flags] --demo                 import the built-in demo data set
  fulfill keys create --role ROLE [--name N]    create an API key (admin, merchant, device, carrier)
  fulfill keys list [flags]                     list API keys
  fulfill load checkout --key KEY [--rate 500 --duration 15s]
                                                open-loop load: checkouts at a constant rate
  fulfill load webhooks --key KEY [--rate 1000 --duration 15s]
                                                open-loop load: signed sandbox payment webhooks
  fulfill version                               print the version
  fulfill help                                  print this help

Settings (flag, environment variable, default):
`)
	for _, s := range settings() {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%-26s %-34s %-16s %s\n", s.flag, s.env, def, s.usage)
	}
	fmt.Fprintln(w, "\nFlags override environment variables, which override the defaults.")
	fmt.Fprintln(w, "Run `fulfill COMMAND -h` for a command's flags.")
}
