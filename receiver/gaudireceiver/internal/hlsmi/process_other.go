//go:build !linux

package hlsmi

import (
	"os"
	"syscall"
)

// sysProcAttr adds nothing outside Linux, where hl-smi does not run; the package only has to
// build there.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills only the child itself outside Linux.
func killGroup(p *os.Process) error { return p.Kill() }
