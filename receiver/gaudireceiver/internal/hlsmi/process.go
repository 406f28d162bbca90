package hlsmi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
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

// markVar names the environment variable that marks the processes of one run (see run).
const markVar = "OTELCOL_GAUDI_HLSMI_RUN"

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
// process group and carries a mark in its environment that every descendant inherits, also one
// that escapes the group with setsid: when ctx ends the group and every marked process are
// killed with SIGKILL, and so are those still alive once the child exited, so that none
// outlives its run or holds the output pipe open.
//
// A child that exits non-zero on its own still returns its output, with a *commandError: hl-smi
// may print every device and exit 1 for one it could not read; the caller judges both. A
// child that was killed or printed too much returns no output.
func (r *runner) run(ctx context.Context, args ...string) (string, error) {
	command := r.path + " " + strings.Join(args, " ")
	mark := markVar + "=" + rand.Text()
	cmd := exec.CommandContext(ctx, r.path, args...)
	cmd.Env = append(os.Environ(), mark)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killTree(cmd.Process, mark) }
	cmd.WaitDelay = waitDelay
	stdout := &capture{buf: cappedBuffer{max: maxStdout}}
	stderr := &capture{buf: cappedBuffer{max: maxStderr}}
	if err := startCapture(cmd, stdout, stderr); err != nil {
		return "", &commandError{command: command, err: err}
	}

	r.running.Add(1)
	if err := cmd.Start(); err != nil {
		r.running.Add(-1)
		stdout.abandon()
		stderr.abandon()
		return "", &commandError{command: command, err: err}
	}
	stdout.started()
	stderr.started()
	done := make(chan error, 1)
	r.waiters.Go(func() {
		err := cmd.Wait()
		// Whatever the child left behind goes with it.
		killMarked(mark, cmd.Process.Pid)
		r.running.Add(-1)
		done <- err
	})

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// exec's context watcher kills the tree now; wait a bounded time for the child.
		timer := time.NewTimer(reapTimeout)
		defer timer.Stop()
		select {
		case err = <-done:
		case <-timer.C:
			stdout.abandon()
			stderr.abandon()
			return "", &commandError{command: command, err: fmt.Errorf("pid %d did not exit within %v of SIGKILL: %w", cmd.Process.Pid, reapTimeout, ctx.Err())}
		}
	}
	held := !stdout.wait(waitDelay)
	held = !stderr.wait(waitDelay) || held
	// A child killed because ctx ended exits with "signal: killed"; ctx says why.
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", &commandError{command: command, err: fmt.Errorf("killed: %w", ctxErr), stderr: stderr.buf.text()}
	}
	if stdout.buf.truncated {
		return "", &commandError{command: command, err: fmt.Errorf("output exceeds %d bytes", maxStdout), stderr: stderr.buf.text()}
	}
	if held {
		// A process that survived SIGKILL (stuck in the kernel) or left the mark behind keeps
		// the pipe open: what was printed is kept, the run is an error all the same.
		err = errors.Join(err, fmt.Errorf("its output was still held open %v after it exited, by a process it left that could not be killed", waitDelay))
	}
	if err != nil {
		return stdout.buf.b.String(), &commandError{command: command, err: err, stderr: stderr.buf.text()}
	}
	return stdout.buf.b.String(), nil
}

// capture reads one of the child's output pipes into a capped buffer. Unlike exec's own pipes,
// the caller decides how long to wait for the end of the output after the child exited.
type capture struct {
	buf  cappedBuffer
	r, w *os.File
	done chan struct{} // closed when the reader is done; nil before it started
}

// startCapture gives cmd a pipe for stdout and one for stderr.
func startCapture(cmd *exec.Cmd, captures ...*capture) error {
	for i, c := range captures {
		r, w, err := os.Pipe()
		if err != nil {
			for _, c := range captures[:i] {
				c.abandon()
			}
			return err
		}
		c.r, c.w = r, w
	}
	cmd.Stdout, cmd.Stderr = captures[0].w, captures[1].w
	return nil
}

// started closes the parent's end of the write side and reads until every writer is gone.
func (c *capture) started() {
	c.w.Close()
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		defer c.r.Close()
		_, _ = io.Copy(&c.buf, c.r)
	}()
}

// wait waits up to d for the end of the output and stops reading after that; false when the
// pipe was still held open.
func (c *capture) wait(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-c.done:
		return true
	case <-timer.C:
		_ = c.r.SetReadDeadline(time.Now())
		<-c.done
		return false
	}
}

// abandon stops the capture: before the child started, or when its run returns without it.
func (c *capture) abandon() {
	if c.r == nil {
		return
	}
	if c.done == nil {
		c.r.Close()
		c.w.Close()
		return
	}
	// The reader ends and closes its end.
	_ = c.r.SetReadDeadline(time.Now())
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
