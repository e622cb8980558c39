//go:build linux

package main

import (
	"runtime"
	"syscall"
)

func lockThread() { runtime.LockOSThread() }

// setThreadNice sets the calling thread's nice value (Linux schedules
// threads one by one; PRIO_PROCESS with a thread id names one thread).
// A failure leaves the thread's priority as it was.
var setThreadNice = func(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
