package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// trainsimTimeout bounds building trainsim and a bounded (-steps) run of it.
const trainsimTimeout = 2 * time.Minute

// buildTrainsim builds cmd/trainsim into the test's temporary directory; Go's build cache makes
// every build after the first a link step.
func buildTrainsim(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), trainsimTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "trainsim")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/trainsim")
	cmd.Dir = repoRoot
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/trainsim: %v\n%s", err, out)
	}
	t.Logf("built trainsim in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// runTrainsim runs trainsim to completion (its args must bound it, e.g. with -steps) and fails the
// test unless it exits with status 0.
func runTrainsim(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), trainsimTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = childSysProcAttr()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("trainsim %v: %s\n%s", args, exitDescription(err), out)
	}
	t.Logf("trainsim ran for %s: %s", time.Since(start).Round(time.Millisecond), bytes.TrimSpace(out))
}

// expectedTrainsimRecords is how many log records one trainsim rank sends when it runs steps batches
// to the end: start, the validation before the first batch, one progress record every logEvery
// batches, one validation every evalEvery batches, and the end.
func expectedTrainsimRecords(steps, logEvery, evalEvery int) int {
	return 3 + steps/logEvery + steps/evalEvery
}

// nodeCollector is a collector on one of the shipped node configs (gaudi and otlp receivers), with
// its OTLP receiver, its own telemetry and the gaudi receiver's simulator on free ports or settings.
type nodeCollector struct {
	*collector
	grpcAddr, httpAddr string // OTLP receiver, host:port
}

// startNodeCollector starts the collector on configs/<name> with the OTLP receiver and the
// collector's own telemetry moved to free ports, two simulated HPUs read every second, and extra.
func startNodeCollector(t *testing.T, name string, extra ...string) *nodeCollector {
	t.Helper()
	return startNodeCollectorEnv(t, nil, name, extra...)
}

// startNodeCollectorEnv is startNodeCollector with env ("KEY=value") added to the collector's environment.
func startNodeCollectorEnv(t *testing.T, env []string, name string, extra ...string) *nodeCollector {
	t.Helper()
	grpcPort, httpPort, telemetryPort := freePort(t), freePort(t), freePort(t)
	sets := append([]string{
		"receivers::gaudi::source=simulator",
		"receivers::gaudi::simulator::devices=2",
		"receivers::gaudi::collection_interval=1s",
		fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", grpcPort),
		fmt.Sprintf("receivers::otlp::protocols::http::endpoint=127.0.0.1:%d", httpPort),
		fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", telemetryPort),
	}, extra...)
	c := startCollectorEnv(t, env, filepath.Join(repoRoot, "configs", name), sets...)
	return &nodeCollector{
		collector: c,
		grpcAddr:  fmt.Sprintf("127.0.0.1:%d", grpcPort),
		httpAddr:  fmt.Sprintf("127.0.0.1:%d", httpPort),
	}
}

// otlpSink is a second collector (testdata/otlp-sink.yaml) that writes everything it receives
// over OTLP/gRPC to a file, as OTLP JSON lines.
type otlpSink struct {
	*collector
	grpcAddr string
	file     string
}

func startOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	port := freePort(t)
	file := filepath.Join(t.TempDir(), "received.jsonl")
	c := startCollector(t, filepath.Join(repoRoot, "test", "e2e", "testdata", "otlp-sink.yaml"),
		fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", port),
		"exporters::file::path="+file,
	)
	return &otlpSink{collector: c, grpcAddr: fmt.Sprintf("127.0.0.1:%d", port), file: file}
}

// readFileExport reads what a file exporter has written so far: one OTLP JSON request per line.
// A last line without its newline is still being written and is left for the next read.
func readFileExport(path string) ([]pmetric.Metrics, []plog.Logs, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var metrics []pmetric.Metrics
	var logs []plog.Logs
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return metrics, logs, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", path, err)
		}
		// A line holds one signal; a metrics request never has resourceLogs and vice versa.
		switch {
		case bytes.Contains(line, []byte(`"resourceMetrics"`)):
			md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			metrics = append(metrics, md)
		case bytes.Contains(line, []byte(`"resourceLogs"`)):
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			logs = append(logs, ld)
		}
	}
}

// postOTLP sends a protobuf OTLP request to url (a collector's /v1/metrics or /v1/logs).
func postOTLP(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}
