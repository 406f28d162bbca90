//go:build !linux

package hlsmi

import (
	"os"
	"syscall"
)

// sysProcAttr adds nothing outside Linux, where hl-smi does not run; the package only has to
// build there.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killTree kills only the child itself outside Linux.
func killTree(p *os.Process, _ string) error { return p.Kill() }

// killMarked finds nothing outside Linux.
func killMarked(string, int) int { return 0 }
