package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// startupDeadline bounds how long a collector or Prometheus may take to become ready.
const startupDeadline = 60 * time.Second

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. The port is taken from
// the kernel (listen on port 0) and released again; ports already handed out to another test of
// this run are never returned twice, since parallel tests start their processes concurrently.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			t.Fatalf("releasing port %d: %v", port, err)
		}
		portsMu.Lock()
		dup := portsUsed[port]
		portsUsed[port] = true
		portsMu.Unlock()
		if !dup {
			return port
		}
	}
	t.Fatal("no unused free port found in 100 attempts")
	return 0
}

// collector is a running otelcol-gaudi process.
type collector struct {
	*process
	healthURL string
	// Set by startDemoCollector:
	metricsURL   string // the prometheus exporter's /metrics
	telemetryURL string // the collector's own telemetry /metrics
	hpuHealthURL string // the hpu_health extension, without a path
}

// startCollector runs `otelcol-gaudi --config <configPath> --set=<set>...` and waits until the
// health_check extension answers 200. It allocates the health_check port itself and appends
// --set=extensions::health_check::endpoint=127.0.0.1:<port>, so the config must define
// health_check (and enable it in service::extensions). The process is stopped when the test ends.
func startCollector(t *testing.T, configPath string, sets ...string) *collector {
	t.Helper()
	return startCollectorEnv(t, nil, configPath, sets...)
}

// startCollectorEnv is startCollector with env ("KEY=value") added to the collector's environment.
func startCollectorEnv(t *testing.T, env []string, configPath string, sets ...string) *collector {
	t.Helper()
	healthPort := freePort(t)
	args := []string{"--config", configPath}
	for _, s := range sets {
		args = append(args, "--set="+s)
	}
	args = append(args, fmt.Sprintf("--set=extensions::health_check::endpoint=127.0.0.1:%d", healthPort))
	c := &collector{
		process:   startProcessEnv(t, "otelcol-gaudi", collectorBin, env, args...),
		healthURL: fmt.Sprintf("http://127.0.0.1:%d/", healthPort),
	}
	waitHTTP200(t, c.process, c.healthURL, startupDeadline)
	return c
}

// demoConfigPath returns the path of the shipped configs/demo.yaml.
func demoConfigPath(t *testing.T) string {
	t.Helper()
	path := filepath.Join(repoRoot, "configs", "demo.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the shipped demo config is missing: %v", err)
	}
	return path
}

// startDemoCollector starts the collector on configs/demo.yaml with every listening endpoint
// moved to a free port, the gaudi receiver collecting every second, and the extra --set values.
func startDemoCollector(t *testing.T, extra ...string) *collector {
	t.Helper()
	return startDemoCollectorEnv(t, nil, extra...)
}

// startDemoCollectorEnv is startDemoCollector with env ("KEY=value") added to the collector's
// environment.
func startDemoCollectorEnv(t *testing.T, env []string, extra ...string) *collector {
	t.Helper()
	promPort, grpcPort, httpPort, telemetryPort, hpuHealthPort := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	sets := append([]string{
		fmt.Sprintf("extensions::hpu_health::endpoint=127.0.0.1:%d", hpuHealthPort),
		"receivers::gaudi::collection_interval=1s",
		fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", grpcPort),
		fmt.Sprintf("receivers::otlp::protocols::http::endpoint=127.0.0.1:%d", httpPort),
		fmt.Sprintf("exporters::prometheus::endpoint=127.0.0.1:%d", promPort),
		// A list can only be replaced as a whole; the value is YAML.
		fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", telemetryPort),
	}, extra...)
	c := startCollectorEnv(t, env, demoConfigPath(t), sets...)
	c.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	c.telemetryURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	c.hpuHealthURL = fmt.Sprintf("http://127.0.0.1:%d", hpuHealthPort)
	return c
}

// textFormat asks for the classic Prometheus text format with names escaped to underscores,
// which is what the metric contract (hpu_utilization_percent, ...) is written against.
const textFormat = "text/plain;version=0.0.4;charset=utf-8;escaping=underscores"

// scrape fetches a Prometheus exposition and returns its samples grouped by metric family name.
func scrape(ctx context.Context, url string) (map[string]model.Vector, error) {
	status, body, err := httpGet(ctx, url, textFormat)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing the exposition from %s: %w", url, err)
	}
	out := make(map[string]model.Vector, len(families))
	for name, family := range families {
		samples, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, family)
		if err != nil {
			return nil, fmt.Errorf("metric family %s from %s: %w", name, url, err)
		}
		out[name] = samples
	}
	return out, nil
}

// waitForFamilies polls url until every one of names is present with at least one sample, and
// returns that scrape. It fails the test if p exits or the deadline passes.
func waitForFamilies(t *testing.T, p *process, url string, names ...string) map[string]model.Vector {
	t.Helper()
	var got map[string]model.Vector
	start := time.Now()
	eventually(t, startupDeadline, func() (bool, string) {
		p.failIfExited(t)
		families, err := scrape(context.Background(), url)
		if err != nil {
			return false, err.Error()
		}
		var missing []string
		for _, n := range names {
			if len(families[n]) == 0 {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return false, fmt.Sprintf("%s has %d metric families but not yet %s", url, len(families), strings.Join(missing, ", "))
		}
		got = families
		return true, ""
	})
	t.Logf("%s had %s after %s", url, strings.Join(names, ", "), time.Since(start).Round(time.Millisecond))
	return got
}
