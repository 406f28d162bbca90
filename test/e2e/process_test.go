package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopTimeout is how long a process gets to exit after SIGTERM before it is killed.
const stopTimeout = 20 * time.Second

// maxShownOutput bounds how much of each stream is printed when a test fails.
const maxShownOutput = 64 << 10

// syncBuffer is a bytes.Buffer that the process's output copier can write while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child process started by a test. Its stdout and stderr are kept in memory.
type process struct {
	name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer

	done    chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's result; read only after done is closed
}

// startProcess starts bin with args in the repository root. A t.Cleanup stops it (SIGTERM, then SIGKILL after
// stopTimeout) and, if the test failed, prints its stdout and stderr.
func startProcess(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	return startProcessEnv(t, name, bin, nil, args...)
}

// startProcessEnv is startProcess with env ("KEY=value") added to the test's own environment,
// which t.Setenv cannot change for parallel tests.
func startProcessEnv(t *testing.T, name, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	// Shipped configs name files relative to the repository root, as `make run` starts there.
	p.cmd.Dir = repoRoot
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.SysProcAttr = childSysProcAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Logf("started %s (pid %d): %s %s", name, p.cmd.Process.Pid, bin, strings.Join(args, " "))
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		start := time.Now()
		killed, err := p.stop(stopTimeout)
		switch {
		case killed:
			t.Errorf("%s (pid %d) did not exit within %s of SIGTERM and was killed", name, p.cmd.Process.Pid, stopTimeout)
		default:
			t.Logf("%s (pid %d) stopped in %s: %s", name, p.cmd.Process.Pid, time.Since(start).Round(time.Millisecond), exitDescription(err))
		}
		if t.Failed() {
			t.Log(p.output())
		}
	})
	return p
}

// stop sends SIGTERM unless the process has already exited, waits up to timeout, and kills it
// if it is still running then. It returns whether the process had to be killed and cmd.Wait's
// error (nil for exit status 0). It is safe to call more than once.
func (p *process) stop(timeout time.Duration) (killed bool, waitErr error) {
	select {
	case <-p.done:
		return false, p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return false, p.waitErr
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return true, p.waitErr
	}
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits for the process to end.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// failIfExited fails the test at once, with the process's output, if the process has exited;
// polling for a condition that a dead process can no longer make true would only waste time.
func (p *process) failIfExited(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s exited unexpectedly: %s", p.name, exitDescription(p.waitErr))
	}
}

// output returns the process's stdout and stderr (the last maxShownOutput bytes of each).
func (p *process) output() string {
	return fmt.Sprintf("---- %s stdout ----\n%s\n---- %s stderr ----\n%s\n---- end of %s output ----",
		p.name, tail(p.stdout.String()), p.name, tail(p.stderr.String()), p.name)
}

func tail(s string) string {
	if len(s) <= maxShownOutput {
		return s
	}
	return fmt.Sprintf("[... %d bytes cut ...]\n%s", len(s)-maxShownOutput, s[len(s)-maxShownOutput:])
}

func exitDescription(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}
