// Package testproc gives every child process a test starts (Tarantool, a
// node or a command run in a process of its own) what keeps it from
// outliving the test: its own process group, and on Linux a kernel
// watchdog that kills it when the test binary dies without running its
// cleanups (a panic, go test's -timeout, a SIGKILL). Tests still stop
// their children by PID in t.Cleanup; this covers the runs that end
// before the cleanups do.
package testproc
