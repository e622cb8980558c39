package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
	"github.com/fulfill-dev/fulfill/internal/queue"
)

// keys is `fulfill keys create|list`.
func (e *env) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("usage: fulfill keys create --role ROLE [--name NAME] | fulfill keys list")
	}
	switch args[0] {
	case "create":
		return e.keysCreate(ctx, args[1:])
	case "list":
		return e.keysList(ctx, args[1:])
	}
	return usagef("unknown keys command %q: use create or list", args[0])
}

// keysCreate prints the new key's secret alone on the last line; it is
// stored hashed and never shown again.
func (e *env) keysCreate(ctx context.Context, args []string) error {
	var role, name string
	cfg, pos, err := e.flags("keys create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "role of the key: admin, merchant, device or carrier (required)")
		fs.StringVar(&name, "name", "", "a name to recognise the key by")
	})
	if err != nil {
		return helped(err)
	}
	if len(pos) > 0 {
		return usagef("keys create takes no arguments, got %q", pos)
	}
	if !fulfill.Role(role).Valid() {
		return usagef("--role must be admin, merchant, device or carrier")
	}
	if name == "" {
		name = role + " key created " + time.Now().UTC().Format(time.DateOnly)
	}
	log := cfg.Logger(e.stderr)
	st, err := openStore(ctx, cfg, queue.Config{Logger: log}, log)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, key, err := app.New(st, app.Options{Logger: log}).CreateAPIKey(ctx, fulfill.Role(role), name)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	fmt.Fprintf(e.stdout, "created %s key %s (%q); the secret is shown once, store it now:\n", key.Role, key.ID, key.Name)
	fmt.Fprintln(e.stdout, secret)
	return nil
}

// keysList prints every key (never a secret: only its prefix).
func (e *env) keysList(ctx context.Context, args []string) error {
	cfg, pos, err := e.flags("keys list", args, nil)
	if err != nil {
		return helped(err)
	}
	if len(pos) > 0 {
		return usagef("keys list takes no arguments, got %q", pos)
	}
	log := cfg.Logger(e.stderr)
	st, err := openStore(ctx, cfg, queue.Config{Logger: log}, log)
	if err != nil {
		return err
	}
	defer st.Close()
	a := app.New(st, app.Options{Logger: log})
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tNAME\tPREFIX\tCREATED\tREVOKED")
	lp := app.ListParams{Limit: app.MaxLimit}
	for {
		keys, next, err := a.ListAPIKeys(ctx, lp)
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Name, k.Prefix, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		if next == "" {
			return tw.Flush()
		}
		lp.Cursor = next
	}
}
