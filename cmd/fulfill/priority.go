package main

// backgroundAt returns app.Options.Background for the payment stage at
// nice value nice (see priority_linux.go), or nil (the caller's thread)
// when nice is 0 or the platform has no per-thread priority.
func backgroundAt(nice int) func(fn func()) {
	if nice == 0 || setThreadNice == nil {
		return nil
	}
	return func(fn func()) {
		var p any
		panicked := true
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if panicked {
					p = recover()
				}
			}()
			// Never unlocked: the thread ends with this goroutine and its
			// priority with it (an unprivileged process can lower its
			// priority but not raise it back).
			lockThread()
			setThreadNice(nice)
			fn()
			panicked = false
		}()
		<-done
		if panicked {
			panic(p)
		}
	}
}
