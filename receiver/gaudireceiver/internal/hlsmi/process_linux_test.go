package hlsmi

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
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

// hangingSource reads through a fake that hangs on every run (on is "1") or on the run whose
// first argument is on, once it wrote its own and its helper's pid to pidFile.
func hangingSource(t *testing.T, on string) (s *Source, pidFile string) {
	t.Helper()
	becomeSubreaper(t)
	env := syntheticEnv()
	pidFile = filepath.Join(t.TempDir(), "pids")
	env[envHang] = on
	env[envPidFile] = pidFile
	cfg, _ := useFake(t, env)
	return startSource(t, cfg, Options{}), pidFile
}

func TestReadHungIsKilled(t *testing.T) {
	s, pidFile := hangingSource(t, "1")

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

	require.FileExists(t, pidFile, "the fake was killed before it wrote its pids; raise the deadline")
	child, helper := readPids(t, pidFile)

	_, err = os.Stat(fmt.Sprintf("/proc/%d", child))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the child was reaped, no zombie is left")
	assert.Zero(t, s.runner.running.Load())

	// The helper is in the child's process group, so it got SIGKILL too.
	requireKilled(t, helper)

	t.Setenv(envHang, "")
	devs, err = read(t, s)
	require.NoError(t, err, "the next read runs")
	assert.Len(t, devs, 8)
}

// A hung hl-smi -q is killed at the deadline like any run, with its helper; the devices of the
// query that ran before it are returned with their readings.
func TestReadHungDetailsAreKilled(t *testing.T) {
	s, pidFile := hangingSource(t, "-q")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	devs, err := s.Read(ctx, time.Now(), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Regexp(t, `running \S+ -q: killed`, err.Error())
	require.Len(t, devs, 8)
	for _, d := range devs {
		require.NoError(t, d.Err)
		assert.True(t, d.Power.Valid)
		assert.False(t, d.TemperatureHBM.Valid)
	}
	assert.Zero(t, s.runner.running.Load())
	require.FileExists(t, pidFile, "the fake was killed before it wrote its pids; raise the deadline")
	_, helper := readPids(t, pidFile)
	requireKilled(t, helper)
}

// requireKilled waits for the orphaned helper, adopted by this subreaper, and checks that it
// died of SIGKILL; a helper still alive after a while is killed and fails the test.
func requireKilled(t *testing.T, helper int) {
	t.Helper()
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
		t.Fatal("the helper survived")
	}
}

// readPids reads "<fake pid> <helper pid>" that the fake wrote.
func readPids(t *testing.T, pidFile string) (child, helper int) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	_, err = fmt.Sscan(string(b), &child, &helper)
	require.NoError(t, err)
	return child, helper
}

// A helper that leaves hl-smi's process group and session with setsid is killed all the same,
// whether it keeps the output pipe open (then the read used to fail after WaitDelay, and leave
// one orphan per scrape) or has no stdio at all; the read uses hl-smi's output, and the next
// read works.
func TestReadKillsEscapedHelpers(t *testing.T) {
	for _, mode := range []string{"hold", "daemon"} {
		t.Run(mode, func(t *testing.T) {
			becomeSubreaper(t)
			env := syntheticEnv()
			pidFile := filepath.Join(t.TempDir(), "pids")
			env[hlsmitest.EnvEscape] = mode
			env[envPidFile] = pidFile
			cfg, _ := useFake(t, env)
			s := startSource(t, cfg, Options{})

			devs, err := read(t, s)
			require.NoError(t, err)
			assert.Len(t, devs, 8)
			_, helper := readPids(t, pidFile)
			requireKilled(t, helper)

			require.NoError(t, os.Remove(pidFile))
			devs, err = read(t, s)
			require.NoError(t, err, "the next read works")
			assert.Len(t, devs, 8)
			_, helper = readPids(t, pidFile)
			requireKilled(t, helper)
		})
	}
}

// A hung hl-smi is killed at the deadline together with a helper that escaped its group.
func TestReadHungWithEscapedHelperIsKilled(t *testing.T) {
	becomeSubreaper(t)
	env := syntheticEnv()
	pidFile := filepath.Join(t.TempDir(), "pids")
	env[hlsmitest.EnvEscape] = "hold"
	env[hlsmitest.EnvHangIf] = pidFile // written before the hang
	env[envPidFile] = pidFile
	cfg, _ := useFake(t, env)
	s := startSource(t, cfg, Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := s.Read(ctx, time.Now(), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	child, helper := readPids(t, pidFile)
	_, err = os.Stat(fmt.Sprintf("/proc/%d", child))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the child was reaped")
	requireKilled(t, helper)

	t.Setenv(hlsmitest.EnvEscape, "")
	t.Setenv(hlsmitest.EnvHangIf, "")
	devs, err := read(t, s)
	require.NoError(t, err, "the next read runs")
	assert.Len(t, devs, 8)
}

// killMarked finds a run's processes by the mark in their environment and nothing else.
func TestKillMarked(t *testing.T) {
	marked := exec.Command("sleep", "60")
	marked.Env = append(os.Environ(), markVar+"=test-"+t.Name())
	other := exec.Command("sleep", "60")
	other.Env = append(os.Environ(), markVar+"=test-"+t.Name()+"-other")
	require.NoError(t, marked.Start())
	require.NoError(t, other.Start())
	defer func() {
		_ = other.Process.Kill()
		_ = other.Wait()
	}()

	first := min(marked.Process.Pid, other.Process.Pid)
	assert.Equal(t, 1, killMarked(markVar+"=test-"+t.Name(), first))
	err := marked.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal())
	assert.NoError(t, other.Process.Signal(syscall.Signal(0)), "a process with another mark lives")
	assert.Zero(t, killMarked(markVar+"=test-"+t.Name(), first), "a reaped process is not found again")
}

// BenchmarkKillMarked is the scan of /proc after every hl-smi run (one per query and one per
// device's NIC links), on this machine's processes.
// The child is taken to be the newest process, as it is when the scan runs right after it;
// "all" reads every process's environment, as without the pid filter.
func BenchmarkKillMarked(b *testing.B) {
	for _, bb := range []struct {
		name  string
		first int
	}{{"new", lastPID()}, {"all", 1}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				killMarked(markVar+"=bench", bb.first)
			}
			b.ReportMetric(float64(len(listPIDs())), "processes")
		})
	}
}

func TestNewSince(t *testing.T) {
	for _, tt := range []struct {
		pid, first, last int
		want             bool
	}{
		{100, 100, 200, true},
		{150, 100, 200, true},
		{99, 100, 200, false},
		{201, 100, 200, false}, // older than the last wrap
		{30000, 30000, 50, true},
		{40, 30000, 50, true}, // after the wrap
		{100, 30000, 50, false},
		{5, 100, -1, true},
	} {
		assert.Equal(t, tt.want, newSince(tt.pid, tt.first, tt.last), "pid %d, first %d, last %d", tt.pid, tt.first, tt.last)
	}
}
