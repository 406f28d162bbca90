package hlsmi

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group, so that killing the group also kills
// whatever it started, and has the kernel kill it if the collector dies first. (Pdeathsig
// fires when the thread that started the child exits; Go ends a thread only when a goroutine
// that locked it exits, which is rare, and would then cost one killed run.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// maxKillPasses bounds the scans for marked processes: a process forking while it is being
// killed leaves children for the next pass, but once SIGKILLed it forks no more.
const maxKillPasses = 8

// killTree sends SIGKILL to the child's process group and to every process whose environment
// holds mark (NAME=value). It is called while the child has not been reaped, so its pid, and
// the group's, cannot have been reused.
func killTree(p *os.Process, mark string) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		err = os.ErrProcessDone
	}
	killMarked(mark, p.Pid)
	return err
}

// killMarked sends SIGKILL to every process whose environment holds mark: the descendants of a
// run's child (pid first), also those that left its process group with setsid or setpgid, and
// once the child was reaped, everything it left behind. It works unprivileged and without
// cgroups, as a process may read the environment of its own user's processes in /proc; only a
// descendant that drops the variable from its environment escapes. Each process is pinned by a
// pidfd and its mark checked again before the signal, so that a pid reused meanwhile is never
// hit. It returns how many processes it signalled.
//
// Reading a process's environment costs tens of microseconds, and a training node runs
// thousands of processes; only those created since the child are read (see newSince).
func killMarked(mark string, first int) int {
	needle := []byte("\x00" + mark + "\x00")
	signalled := map[int]bool{}
	for range maxKillPasses {
		found := false
		pids := listPIDs()
		// Read after the listing: every process listed was created by then.
		last := lastPID()
		for _, pid := range pids {
			if signalled[pid] || !newSince(pid, first, last) || !marked(pid, needle) {
				continue
			}
			found = true
			signalled[pid] = true
			signal(pid, needle)
		}
		// A marked process can only be created by a marked process, so a pass that finds none
		// alive leaves none.
		if !found {
			break
		}
	}
	return len(signalled)
}

// newSince reports whether pid may have been allocated at or after first. The kernel hands out
// pids in increasing order up to pid_max, then wraps around; last is the newest pid allocated
// (ns_last_pid), or -1 when unknown.
func newSince(pid, first, last int) bool {
	switch {
	case last < 0:
		return true
	case last >= first:
		return pid >= first && pid <= last
	default: // wrapped since first
		return pid >= first || pid <= last
	}
}

// lastPID is the last pid allocated in this pid namespace, -1 when it cannot be read.
func lastPID() int {
	b, err := os.ReadFile("/proc/sys/kernel/ns_last_pid")
	if err != nil {
		return -1
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		return -1
	}
	return pid
}

// listPIDs lists the processes in /proc but this one.
func listPIDs() []int {
	proc, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := proc.Readdirnames(-1)
	proc.Close()
	self := os.Getpid()
	list := make([]int, 0, len(names))
	for _, name := range names {
		if pid, err := strconv.Atoi(name); err == nil && pid != self {
			list = append(list, pid)
		}
	}
	return list
}

func signal(pid int, needle []byte) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, syscall.ENOSYS) { // before Linux 5.3: nothing pins the pid
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return
	}
	if err != nil {
		return // gone already
	}
	defer unix.Close(fd)
	if marked(pid, needle) {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// marked reports whether the environment of process pid holds the entry needle (NUL, entry,
// NUL). A zombie's environment reads empty: it is dead already.
func marked(pid int, needle []byte) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.HasPrefix(env, needle[1:]) || bytes.Contains(env, needle)
}
