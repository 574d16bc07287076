//go:build linux

package tarantooltest

import "syscall"

// sysProcAttr puts a child in its own process group and has the kernel kill
// it if the test binary dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
