package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func parseTestConfig(t *testing.T, vars map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, envFunc(vars), nil)
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func TestConfigLayers(t *testing.T) {
	t.Parallel()
	cfg, err := parseTestConfig(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.DataDir != "./fulfill-data" || cfg.Workers != 10 ||
		cfg.SQLiteSynchronous != "NORMAL" || cfg.ShutdownTimeout != 30*time.Second || cfg.MaxBodyBytes != 1<<20 {
		t.Errorf("defaults = %+v", cfg)
	}
	if e, target, _ := cfg.Engine(); e != "sqlite" || target != "fulfill-data/fulfill.db" || !cfg.LoadDemo() {
		t.Errorf("default engine = %s %s (demo %v)", e, target, cfg.LoadDemo())
	}

	vars := map[string]string{"FULFILL_ADDR": ":9000", "FULFILL_WORKERS": "3", "FULFILL_SQLITE_SYNCHRONOUS": "full", "FULFILL_LOG_FORMAT": "JSON"}
	cfg, err = parseTestConfig(t, vars, "--workers", "0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9000" || cfg.Workers != 0 || cfg.SQLiteSynchronous != "FULL" || cfg.LogFormat != "json" {
		t.Errorf("env then flags = %+v", cfg)
	}
}

func TestConfigEngines(t *testing.T) {
	t.Parallel()
	cases := []struct{ url, engine, target string }{
		{"sqlite:///var/lib/fulfill/f.db", "sqlite", "/var/lib/fulfill/f.db"},
		{"file:/tmp/f.db?_pragma=x", "sqlite", "/tmp/f.db"},
		{"file:relative.db", "sqlite", "relative.db"},
		{"postgres://u:p@db:5432/fulfill", "postgres", "postgres://u:p@db:5432/fulfill"},
		{"postgresql://db/fulfill", "postgres", "postgresql://db/fulfill"},
	}
	for _, c := range cases {
		cfg, err := parseTestConfig(t, map[string]string{"DATABASE_URL": c.url})
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if e, target, _ := cfg.Engine(); e != c.engine || target != c.target {
			t.Errorf("%s → %s %s, want %s %s", c.url, e, target, c.engine, c.target)
		}
	}
	cfg, _ := parseTestConfig(t, map[string]string{"DATABASE_URL": "postgres://db/x"})
	if cfg.LoadDemo() {
		t.Error("demo auto-loads on PostgreSQL; want it only on the embedded engine")
	}
}

func TestConfigValidationNamesEverySetting(t *testing.T) {
	t.Parallel()
	_, err := parseTestConfig(t, map[string]string{
		"FULFILL_ADDR": "nohost", "DATABASE_URL": "mysql://x", "FULFILL_LOG_LEVEL": "loud", "FULFILL_LOG_FORMAT": "xml",
		"FULFILL_WORKERS": "-1", "FULFILL_SQLITE_SYNCHRONOUS": "OFF", "FULFILL_MAX_BODY_BYTES": "1",
		"FULFILL_SHUTDOWN_TIMEOUT": "-1s", "FULFILL_DEMO": "maybe",
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, name := range []string{"addr", "database-url", "log-level", "log-format", "workers", "sqlite-synchronous", "max-body-bytes", "shutdown-timeout", "load-demo"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if _, err := parseTestConfig(t, map[string]string{"FULFILL_WORKERS": "ten"}); err == nil || !strings.Contains(err.Error(), "FULFILL_WORKERS") {
		t.Errorf("a bad env value: %v, want an error naming FULFILL_WORKERS", err)
	}
}

func TestConfigPrintMasksPassword(t *testing.T) {
	t.Parallel()
	cfg, err := parseTestConfig(t, map[string]string{"DATABASE_URL": "postgres://fulfill:s3cret@db:5432/f?sslmode=disable&password=other"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	cfg.Print(&b)
	if strings.Contains(b.String(), "s3cret") || strings.Contains(b.String(), "other") {
		t.Errorf("printed configuration shows a password:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "fulfill:xxxxx@db:5432") {
		t.Errorf("printed configuration lost the URL's shape:\n%s", b.String())
	}
}
