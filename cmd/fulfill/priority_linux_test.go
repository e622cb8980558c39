//go:build linux

package main

import (
	"syscall"
	"testing"
)

// TestBackgroundAt: the payment stage's work runs on a thread at the
// configured nice value, the caller's thread keeps its own, and a panic
// reaches the caller.
func TestBackgroundAt(t *testing.T) {
	if backgroundAt(0) != nil {
		t.Fatal("nice 0 must run on the caller's thread")
	}
	run := backgroundAt(10)
	before, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	ran := false
	run(func() {
		ran = true
		// The raw system call answers 20 - nice.
		inside, err = syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	})
	if !ran || err != nil || inside != before-10 {
		t.Fatalf("inside: ran %v, priority %d (%v); want %d", ran, inside, err, before-10)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the panic of fn", p)
		}
	}()
	run(func() { panic("boom") })
	t.Fatal("the panic did not reach the caller")
}
