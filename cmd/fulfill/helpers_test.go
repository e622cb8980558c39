package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineBuffer collects a command's output from any goroutine and lets a test
// wait for a line.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// find returns the rest of the first complete line starting with prefix.
func (b *lineBuffer) find(prefix string) (string, bool) {
	s := b.String()
	for {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return "", false
		}
		if after, found := strings.CutPrefix(line, prefix); found {
			return strings.TrimSpace(after), true
		}
		s = rest
	}
}

// waitFor waits up to d for a line starting with prefix; it fails the test
// early when stop reports that the command ended.
func (b *lineBuffer) waitFor(t *testing.T, prefix string, d time.Duration, stopped func() bool) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if v, ok := b.find(prefix); ok {
			return v
		}
		if stopped != nil && stopped() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no line starting with %q; output so far:\n%s", prefix, b.String())
	return ""
}

// envFunc returns a getenv that sees only vars (tests never read the
// process environment by accident).
func envFunc(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// server is a running `serve`, in process or as a child process.
type server struct {
	base string // http://127.0.0.1:port
	key  string // the bootstrap admin key, when one was printed
	out  *lineBuffer
}

// serveInProcess runs `serve` through run on a free port until the test
// ends, and returns once it listens.
func serveInProcess(t *testing.T, vars map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &lineBuffer{}, &lineBuffer{}
	finished := make(chan struct{})
	var runErr error
	go func() {
		defer close(finished)
		runErr = run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), envFunc(vars), out, errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
			if runErr != nil {
				t.Errorf("serve ended with %v; stderr:\n%s", runErr, errOut)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("serve did not stop within 40s of cancel")
		}
	})
	stopped := func() bool {
		select {
		case <-finished:
			t.Fatalf("serve ended early: %v\nstdout:\n%s\nstderr:\n%s", runErr, out, errOut)
		default:
		}
		return false
	}
	base := out.waitFor(t, "listening on ", 90*time.Second, stopped)
	key, _ := out.find("admin key (shown once): ")
	return &server{base: base, key: key, out: out}
}

// call sends one JSON request and returns the status and the body.
func call(t *testing.T, method, url, key string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, raw
}

// getJSON GETs url, expects 200 and decodes the body into v.
func getJSON(t *testing.T, url, key string, v any) {
	t.Helper()
	status, raw := call(t, http.MethodGet, url, key, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, status, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, raw, err)
	}
}

// page is one page of a list answer.
type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// getAll follows next_cursor from url (which already has a query string)
// and returns every item.
func getAll[T any](t *testing.T, url, key string) []T {
	t.Helper()
	var all []T
	cursor := ""
	for range 1000 {
		var p page[T]
		u := url
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		getJSON(t, u, key, &p)
		all = append(all, p.Data...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
	t.Fatalf("GET %s: more than 1000 pages", url)
	return nil
}

// runCmd runs a one-shot command through run and returns its stdout.
func runCmd(t *testing.T, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, errOut := &lineBuffer{}, &lineBuffer{}
	err := run(ctx, args, envFunc(vars), out, errOut)
	if err != nil {
		t.Logf("fulfill %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out.String(), err
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary built for the process tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds the fulfill binary once per test run (the process tests
// need a real process to kill -9).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "fulfill-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "fulfill")
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is not on PATH: %w", err)
			return
		}
		cmd := exec.Command(goBin, "build", "-o", binPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is `fulfill serve` running as a child process.
type proc struct {
	*server
	cmd    *exec.Cmd
	stderr *lineBuffer
	done   chan struct{}
	err    error // set once done is closed
}

// startProc starts `fulfill serve` on dir as a child process, with env
// added to a minimal environment, and waits until it listens.
func startProc(t *testing.T, dir string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0", "--data", dir)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "FULFILL_LOG_LEVEL=warn"}, env...)
	p := &proc{cmd: cmd, stderr: &lineBuffer{}, done: make(chan struct{}), server: &server{out: &lineBuffer{}}}
	cmd.Stdout, cmd.Stderr = p.out, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	stopped := func() bool {
		select {
		case <-p.done:
			t.Fatalf("serve exited early: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.out, p.stderr)
		default:
		}
		return false
	}
	p.base = p.out.waitFor(t, "listening on ", 90*time.Second, stopped)
	p.key, _ = p.out.find("admin key (shown once): ")
	return p
}

// signal sends sig and waits for the process to end.
func (p *proc) signal(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("process did not end within 60s of %v", sig)
	}
	return p.err
}
