//go:build linux

package testproc

import "syscall"

// SysProcAttr puts a child in its own process group and has the kernel
// kill it (SIGKILL) when the test binary dies. Set it on every exec.Cmd a
// test starts. The kernel ties the signal to the OS thread that started
// the child: do not start one from a goroutine locked to its thread
// (runtime.LockOSThread), whose thread ends with it.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
