package hlsmi

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxStdout bounds what one run may print: 8 devices take about 2 KiB; more than this is
	// not hl-smi output worth parsing.
	maxStdout = 1 << 20
	// maxStderr is how much of stderr the error message keeps.
	maxStderr = 1 << 10
	// waitDelay bounds the wait for the output pipes after the child exited or was killed, in
	// case a process it left behind still holds them open.
	waitDelay = time.Second
	// reapTimeout bounds how long a run waits, once its context ended, for the killed child to
	// be reaped. A child stuck in the kernel (a wedged driver) does not die of SIGKILL until it
	// leaves the kernel; the run then returns and a goroutine keeps waiting for it.
	reapTimeout = 2 * waitDelay
)

// runner runs hl-smi, one child per call, and makes sure none outlives its scrape unnoticed.
type runner struct {
	path string
	// running counts children started and not yet reaped. Between reads it is 0 unless a child
	// did not die when killed; no new child is started then, so a wedged driver cannot make
	// hung hl-smi processes pile up.
	running atomic.Int64
	// waiters tracks the goroutines that reap children, for Shutdown.
	waiters sync.WaitGroup
}

// commandError is a run that failed; it keeps stderr for the message and for callers that
// look at what hl-smi complained about.
type commandError struct {
	command string
	err     error
	stderr  string
}

func (e *commandError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("running %s: %v", e.command, e.err)
	}
	return fmt.Sprintf("running %s: %v; stderr: %q", e.command, e.err, e.stderr)
}

func (e *commandError) Unwrap() error { return e.err }

// run executes hl-smi with args and returns its standard output. The child runs in its own
// process group, which is killed with SIGKILL when ctx ends, so helpers it started die too.
func (r *runner) run(ctx context.Context, args ...string) (string, error) {
	command := r.path + " " + strings.Join(args, " ")
	cmd := exec.CommandContext(ctx, r.path, args...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = waitDelay
	stdout := &cappedBuffer{max: maxStdout}
	stderr := &cappedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	r.running.Add(1)
	if err := cmd.Start(); err != nil {
		r.running.Add(-1)
		return "", &commandError{command: command, err: err}
	}
	done := make(chan error, 1)
	r.waiters.Go(func() {
		err := cmd.Wait()
		r.running.Add(-1)
		done <- err
	})

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// exec's context watcher kills the group now; wait a bounded time for the child.
		timer := time.NewTimer(reapTimeout)
		defer timer.Stop()
		select {
		case err = <-done:
		case <-timer.C:
			return "", &commandError{command: command, err: fmt.Errorf("pid %d did not exit within %v of SIGKILL: %w", cmd.Process.Pid, reapTimeout, ctx.Err())}
		}
	}
	// A child killed because ctx ended exits with "signal: killed"; ctx says why.
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", &commandError{command: command, err: fmt.Errorf("killed: %w", ctxErr), stderr: stderr.text()}
	}
	if err != nil {
		return "", &commandError{command: command, err: err, stderr: stderr.text()}
	}
	if stdout.truncated {
		return "", &commandError{command: command, err: fmt.Errorf("output exceeds %d bytes", maxStdout), stderr: stderr.text()}
	}
	return stdout.b.String(), nil
}

// lingering reports children of earlier runs that have still not been reaped.
func (r *runner) lingering() error {
	if n := r.running.Load(); n > 0 {
		return fmt.Errorf("%d hl-smi processes of an earlier read have not exited since they were killed (stuck in the driver?); not starting another", n)
	}
	return nil
}

// wait waits until every child has been reaped or ctx ends.
func (r *runner) wait(ctx context.Context) error {
	reaped := make(chan struct{})
	go func() {
		r.waiters.Wait()
		close(reaped)
	}()
	select {
	case <-reaped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d hl-smi processes still running: %w", r.running.Load(), ctx.Err())
	}
}

// cappedBuffer keeps the first max bytes written to it and drops the rest, still consuming
// it so that the child never blocks on a full pipe.
type cappedBuffer struct {
	b         strings.Builder
	max       int
	truncated bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); len(p) > room {
		c.truncated = true
		c.b.Write(p[:room])
	} else {
		c.b.Write(p)
	}
	return len(p), nil
}

// text is the captured output as one trimmed string for an error message.
func (c *cappedBuffer) text() string {
	s := strings.TrimSpace(c.b.String())
	if c.truncated {
		s += "..."
	}
	return s
}
