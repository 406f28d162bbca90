package hpujobprocessor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// buildTrainsim builds cmd/trainsim into the test's temporary directory.
func buildTrainsim(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "trainsim")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/trainsim")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/trainsim: %v\n%s", err, out)
	}
	return bin
}

// runTrainsim runs trainsim to completion (args bound it with -steps) and fails unless it exits 0.
func runTrainsim(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	require.NoErrorf(t, err, "trainsim %v:\n%s", args, out)
	t.Logf("trainsim %s", bytes.TrimSpace(out))
}

// startOTLP runs an OTLP/HTTP receiver on a free local port, metrics into next and logs discarded, and
// returns its address.
func startOTLP(t *testing.T, tp *testProcessor) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{"http": map[string]any{"endpoint": addr}},
	}).Unmarshal(cfg))
	set := receivertest.NewNopSettings(component.MustNewType("otlp"))
	mr, err := f.CreateMetrics(context.Background(), set, cfg, tp.proc)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	for _, r := range []component.Component{mr, lr} {
		require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	}
	return addr
}

// TestWithTrainsim is the requirement's end-to-end check in one process: the gaudi receiver's simulator
// and an OTLP receiver feed the processor, and trainsim (built from cmd/trainsim) runs two jobs against
// the OTLP receiver over HTTP, as on a node:
//   - job "llm" on node rank 1 of 2, four ranks with HABANA_VISIBLE_MODULES=4,5,6,7: trainsim sends each
//     rank's own hpu.module.id;
//   - job "vision", two ranks that know their driver index (-hpu-indexes), on two devices job "llm" does
//     not use.
//
// Each device in use gets its job and global rank, the other two get nothing, and after the expiration
// nothing is left.
func TestWithTrainsim(t *testing.T) {
	bin := buildTrainsim(t)
	tp := newTestProcessor(t, testConfig())
	startSimulator(t, tp.proc)
	addr := startOTLP(t, tp)

	modules := modulesOf(t, nextScrapes(t, tp))
	require.Len(t, modules, 8)
	want := map[int64]string{}
	var free []string // indexes of two devices in modules 0-3
	for idx := range int64(8) {
		switch mod := modules[idx]; {
		case mod >= 4:
			// Global rank = node rank 1 × 4 ranks + local rank, and local rank i uses module 4+i.
			want[idx] = fmt.Sprintf("llm/%d", 4+(mod-4))
		case len(free) < 2:
			want[idx] = fmt.Sprintf("vision/%d", len(free))
			free = append(free, fmt.Sprint(idx))
		}
	}

	common := []string{"-protocol", "http", "-endpoint", addr, "-host-name", testHost,
		"-steps", "3", "-interval", "10ms", "-export-interval", "100ms", "-log-every", "0"}
	runTrainsim(t, bin, append([]string{"-job-id", "llm", "-ranks", "4", "-node-rank", "1", "-world-size", "8",
		"-visible-modules", "4,5,6,7"}, common...)...)
	runTrainsim(t, bin, append([]string{"-job-id", "vision", "-ranks", "2",
		"-hpu-indexes", strings.Join(free, ",")}, common...)...)

	// The claims hold (the fake clock stands still), so the scrapes from now on carry them.
	labels := deviceLabels(t, nextScrapes(t, tp))
	require.Len(t, labels, 8)
	for idx := range int64(8) {
		assert.Equalf(t, want[idx], labels[idx], "device %d (module %d)", idx, modules[idx])
	}
	assert.Zero(t, tp.counter(t, "otelcol_processor_hpu_job_resources_skipped", "", ""))
	assert.Zero(t, tp.counter(t, "otelcol_processor_hpu_job_conflicts", "", ""))

	tp.clock.advance(testConfig().Expiration)
	assert.Empty(t, annotated(t, nextScrapes(t, tp)))
}
