package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the fulfill binary. Defaults are set in code
// (the settings table), then environment variables override them, then
// command-line flags override those.
type Config struct {
	Addr              string
	DataDir           string
	DatabaseURL       string
	DatabaseSchema    string
	LogLevel          string
	LogFormat         string
	Workers           int
	SQLiteSynchronous string
	MaxBodyBytes      int64
	ShutdownTimeout   time.Duration
	Demo              string

	// Checkout, payments and inventory (settings_pipeline.go).
	Pipeline PipelineConfig
}

// setting is one row of the settings table: its flag, its environment
// variable, its default and how to read and show it.
type setting struct {
	flag, env, def, usage string
	accessors
}

// settings lists every setting once; flags, env, defaults, the printed
// configuration and `fulfill help` all come from here.
func settings() []setting {
	return append(coreSettings(), pipelineSettings()...)
}

// coreSettings are the foundation's settings: address, storage, logs,
// workers and limits.
func coreSettings() []setting {
	return []setting{
		{"addr", "FULFILL_ADDR", "127.0.0.1:8080", "HTTP listen address (host:port; port 0 picks a free one)",
			str(func(c *Config) *string { return &c.Addr })},
		{"data", "FULFILL_DATA", "./fulfill-data", "data folder of the embedded SQLite database",
			str(func(c *Config) *string { return &c.DataDir })},
		{"database-url", "DATABASE_URL", "", "empty: SQLite in the data folder; sqlite:///path or file:path: SQLite there; postgres://…: PostgreSQL",
			str(func(c *Config) *string { return &c.DatabaseURL })},
		{"database-schema", "FULFILL_DATABASE_SCHEMA", "", "PostgreSQL schema to use (created if missing); empty: the search_path",
			str(func(c *Config) *string { return &c.DatabaseSchema })},
		{"log-level", "FULFILL_LOG_LEVEL", "info", "log level: debug, info, warn or error",
			str(func(c *Config) *string { return &c.LogLevel })},
		{"log-format", "FULFILL_LOG_FORMAT", "text", "log format on stderr: text or json",
			str(func(c *Config) *string { return &c.LogFormat })},
		{"workers", "FULFILL_WORKERS", "10", "jobs worked at once by serve; 0: this process works no jobs (API only)",
			num(func(c *Config) *int { return &c.Workers })},
		{"sqlite-synchronous", "FULFILL_SQLITE_SYNCHRONOUS", "NORMAL", "SQLite synchronous mode: NORMAL (survives kill -9) or FULL (also survives power loss)",
			str(func(c *Config) *string { return &c.SQLiteSynchronous })},
		{"max-body-bytes", "FULFILL_MAX_BODY_BYTES", "1048576", "largest request body accepted (413 beyond)",
			num64(func(c *Config) *int64 { return &c.MaxBodyBytes })},
		{"shutdown-timeout", "FULFILL_SHUTDOWN_TIMEOUT", "30s", "time allowed on SIGTERM for in-flight requests and running jobs",
			dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"load-demo", "FULFILL_DEMO", "auto", "serve: load the demo data into an empty database: auto (SQLite only), true or false",
			str(func(c *Config) *string { return &c.Demo })},
	}
}

// accessors read and write one Config field as text.
type accessors struct {
	set func(c *Config, v string) error
	get func(c *Config) string
}

func str(field func(*Config) *string) accessors {
	set := func(c *Config, v string) error { *field(c) = strings.TrimSpace(v); return nil }
	return accessors{set, func(c *Config) string { return *field(c) }}
}

func num(field func(*Config) *int) accessors {
	set := func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(c) = n
		return nil
	}
	return accessors{set, func(c *Config) string { return strconv.Itoa(*field(c)) }}
}

func num64(field func(*Config) *int64) accessors {
	set := func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(c) = n
		return nil
	}
	return accessors{set, func(c *Config) string { return strconv.FormatInt(*field(c), 10) }}
}

func dur(field func(*Config) *time.Duration) accessors {
	set := func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 1m", v)
		}
		*field(c) = d
		return nil
	}
	return accessors{set, func(c *Config) string { return field(c).String() }}
}

// loadConfig applies the defaults (a command may override some, by flag
// name, in defaults) and then the environment, and registers every setting
// as a flag on fs so that parsing fs overrides both.
func loadConfig(fs *flag.FlagSet, getenv func(string) string, defaults map[string]string) (*Config, error) {
	c := &Config{}
	for _, s := range settings() {
		if d, ok := defaults[s.flag]; ok {
			s.def = d
		}
		if err := s.set(c, s.def); err != nil {
			return nil, fmt.Errorf("default of %s: %w", s.flag, err)
		}
		if v := getenv(s.env); v != "" {
			if err := s.set(c, v); err != nil {
				return nil, fmt.Errorf("%s: %w", s.env, err)
			}
		}
		fs.Func(s.flag, fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def), func(v string) error { return s.set(c, v) })
	}
	return c, nil
}

// Validate checks every setting and normalises the enumerations.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port (such as 127.0.0.1:8080 or :8080)", c.Addr)
	}
	if _, _, err := c.Engine(); err != nil {
		bad("database-url", "%v", err)
	}
	c.LogLevel = strings.ToLower(c.LogLevel)
	if _, err := c.slogLevel(); err != nil {
		bad("log-level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	c.LogFormat = strings.ToLower(c.LogFormat)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	if c.Workers < 0 || c.Workers > 1000 {
		bad("workers", "%d is not between 0 and 1000", c.Workers)
	}
	c.SQLiteSynchronous = strings.ToUpper(c.SQLiteSynchronous)
	if c.SQLiteSynchronous != "NORMAL" && c.SQLiteSynchronous != "FULL" {
		bad("sqlite-synchronous", "%q is not NORMAL or FULL", c.SQLiteSynchronous)
	}
	if c.MaxBodyBytes < 1024 {
		bad("max-body-bytes", "%d is below 1024", c.MaxBodyBytes)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "%s must be positive", c.ShutdownTimeout)
	}
	c.Demo = strings.ToLower(c.Demo)
	if c.Demo != "auto" && c.Demo != "true" && c.Demo != "false" {
		bad("load-demo", "%q is not auto, true or false", c.Demo)
	}
	c.Pipeline.validate(bad)
	return errors.Join(errs...)
}

// Engine returns the storage engine named by the database URL ("sqlite" or
// "postgres") and what to open: a file path or a PostgreSQL URL.
func (c *Config) Engine() (engine, target string, err error) {
	u := c.DatabaseURL
	switch {
	case u == "":
		if c.DataDir == "" {
			return "", "", errors.New("set a data folder (--data) or a database URL")
		}
		return "sqlite", filepath.Join(c.DataDir, "fulfill.db"), nil
	case strings.HasPrefix(u, "sqlite://"):
		return sqlitePath(strings.TrimPrefix(u, "sqlite://"))
	case strings.HasPrefix(u, "file:"):
		return sqlitePath(strings.TrimPrefix(strings.TrimPrefix(u, "file:"), "//"))
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return "", "", errors.New("the PostgreSQL URL does not parse")
		}
		return "postgres", u, nil
	}
	return "", "", errors.New("the scheme must be postgres://, postgresql://, sqlite:// or file: (or leave it empty for SQLite in the data folder)")
}

// sqlitePath drops a query string from a sqlite:// or file: URL's path.
func sqlitePath(p string) (string, string, error) {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		return "", "", errors.New("the SQLite URL names no file (use sqlite:///absolute/path.db)")
	}
	return "sqlite", p, nil
}

// LoadDemo reports whether serve should load the demo into an empty
// database: always with "true", never with "false", and with "auto" only
// on the embedded SQLite engine.
func (c *Config) LoadDemo() bool {
	if c.Demo == "auto" {
		engine, _, _ := c.Engine()
		return engine == "sqlite"
	}
	return c.Demo == "true"
}

func (c *Config) slogLevel() (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(c.LogLevel))
	return l, err
}

// Logger builds the process's structured logger on w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	level, _ := c.slogLevel()
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Print writes every setting and where it came from, with the password of
// the database URL masked.
func (c *Config) Print(w io.Writer) {
	fmt.Fprintln(w, "configuration:")
	for _, s := range settings() {
		v := s.get(c)
		switch {
		case s.env == "DATABASE_URL" || s.env == "FULFILL_REDIS_URL":
			v = maskURL(v)
		case secretSettings[s.env] && v != "":
			v = "(set, hidden)"
		case s.env == "FULFILL_SANDBOX_WEBHOOK_SECRET":
			v = "(generated, kept in the data folder)"
		}
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(w, "  %-26s %-40s (--%s, %s)\n", s.flag, v, s.flag, s.env)
	}
	engine, target, _ := c.Engine()
	fmt.Fprintf(w, "  %-26s %s %s\n", "engine", engine, maskURL(target))
}

// maskURL hides the password in a URL (user:password@ and ?password=).
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if strings.Contains(raw, "password") {
			return "(unparsable URL hidden: it may hold a password)"
		}
		return raw
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
