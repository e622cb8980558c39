//go:build !linux

package main

func lockThread() {}

// setThreadNice is nil: no per-thread priority here.
var setThreadNice func(nice int)
