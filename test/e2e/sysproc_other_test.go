//go:build !linux

package e2e

import "syscall"

// childSysProcAttr has nothing to add outside Linux (no parent-death signal).
func childSysProcAttr() *syscall.SysProcAttr {
	return nil
}
