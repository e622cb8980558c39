package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLoadCommands runs both load generators briefly against a server in
// the process: every request answered with success, the summary printed
// (rate, codes, HDR percentiles, queue lag and drain), the distribution
// written, and the paid orders reserved.
func TestLoadCommands(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	s := serveInProcess(t, map[string]string{
		"FULFILL_DATA": data, "FULFILL_CHECKOUT_RATE_PER_IP": "-1", "FULFILL_CHECKOUT_RATE_PER_KEY": "-1",
	})
	vars := map[string]string{"FULFILL_KEY": s.key}
	percentiles := regexp.MustCompile(`latency +p50 [0-9.]+ms +p90 [0-9.]+ms +p99 [0-9.]+ms +p99\.9 [0-9.]+ms +max [0-9.]+ms`)

	hdr := filepath.Join(t.TempDir(), "checkout.hdr")
	out, err := runCmd(t, vars, "load", "checkout", "--url", s.base, "--rate", "40", "--duration", "1s", "--hdr-out", hdr)
	if err != nil {
		t.Fatalf("load checkout: %v\n%s", err, out)
	}
	for _, want := range []string{"40 requests in", "success 100.00%", "201×40", "queue lag"} {
		if !strings.Contains(out, want) {
			t.Errorf("load checkout output lacks %q:\n%s", want, out)
		}
	}
	if !percentiles.MatchString(out) {
		t.Errorf("load checkout output lacks the percentiles:\n%s", out)
	}
	b, err := os.ReadFile(hdr)
	if err != nil || !strings.Contains(string(b), "Percentile") || !strings.Contains(string(b), "#[Max") {
		t.Errorf("--hdr-out file: %v\n%s", err, b)
	}

	out, err = runCmd(t, vars, "load", "webhooks", "--url", s.base, "--data", data, "--rate", "40", "--duration", "1s", "--drain-timeout", "1m")
	if err != nil {
		t.Fatalf("load webhooks: %v\n%s", err, out)
	}
	for _, want := range []string{"40 requests in", "success 100.00%", "200×40", "queue drain    every received webhook applied", "reserved 40"} {
		if !strings.Contains(out, want) {
			t.Errorf("load webhooks output lacks %q:\n%s", want, out)
		}
	}
	if !percentiles.MatchString(out) {
		t.Errorf("load webhooks output lacks the percentiles:\n%s", out)
	}
}
