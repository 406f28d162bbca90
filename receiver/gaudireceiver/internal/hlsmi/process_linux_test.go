package hlsmi

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of prctl(2).
const prSetChildSubreaper = 36

// becomeSubreaper makes this process adopt its orphaned descendants, so that the fake's helper,
// orphaned when the fake dies, can be waited for here.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	t.Cleanup(func() { syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0) })
}

func TestReadHungIsKilled(t *testing.T) {
	becomeSubreaper(t)
	env := syntheticEnv()
	pidFile := filepath.Join(t.TempDir(), "pids")
	env[envHang] = "1"
	env[envPidFile] = pidFile
	cfg, _ := useFake(t, env)
	s := startSource(t, cfg, Options{})

	// Long enough for the fake and its helper to start, even under -race.
	const deadline = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	began := time.Now()
	devs, err := s.Read(ctx, began, nil)
	elapsed := time.Since(began)

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "killed")
	assert.Empty(t, devs)
	assert.GreaterOrEqual(t, elapsed, deadline)
	assert.Less(t, elapsed, deadline+reapTimeout, "Read returns soon after the deadline")

	b, err := os.ReadFile(pidFile)
	require.NoError(t, err, "the fake was killed before it wrote its pids; raise the deadline")
	var child, helper int
	_, err = fmt.Sscan(string(b), &child, &helper)
	require.NoError(t, err)

	_, err = os.Stat(fmt.Sprintf("/proc/%d", child))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the child was reaped, no zombie is left")
	assert.Zero(t, s.runner.running.Load())

	// The helper is in the child's process group, so it got SIGKILL too.
	waited := make(chan error, 1)
	var status syscall.WaitStatus
	go func() {
		_, err := syscall.Wait4(helper, &status, 0, nil)
		waited <- err
	}()
	select {
	case err := <-waited:
		require.NoError(t, err)
		assert.True(t, status.Signaled() && status.Signal() == syscall.SIGKILL, "helper ended with %v", status)
	case <-time.After(10 * time.Second):
		assert.NoError(t, syscall.Kill(helper, syscall.SIGKILL))
		<-waited
		t.Fatal("the helper survived: the process group was not killed")
	}

	t.Setenv(envHang, "")
	devs, err = read(t, s)
	require.NoError(t, err, "the next read runs")
	assert.Len(t, devs, 8)
}
