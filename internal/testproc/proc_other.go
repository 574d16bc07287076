//go:build unix && !linux

package testproc

import "syscall"

// SysProcAttr puts a child in its own process group (no kernel watchdog
// outside Linux: only the test's cleanups stop it).
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
