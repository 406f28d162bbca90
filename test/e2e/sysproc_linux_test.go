package e2e

import "syscall"

// childSysProcAttr makes the kernel kill a child if the test binary dies without running its
// cleanups (for example when go test's -timeout panics), so no collector or Prometheus outlives
// the test and keeps its ports.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
