package hlsmi

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so that killing the group also kills
// whatever it started, and has the kernel kill it if the collector dies first. (Pdeathsig
// fires when the thread that started the child exits; Go ends a thread only when a goroutine
// that locked it exits, which is rare, and would then cost one killed run.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to the child's whole process group.
func killGroup(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
