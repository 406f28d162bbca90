package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// prometheusMissing is the failure message when no prometheus binary is on PATH. The e2e tests
// need a real Prometheus and are never skipped for want of one.
const prometheusMissing = "prometheus is not on PATH, and the e2e tests need a real Prometheus (2.42+). " +
	"Install it with `apt-get install -y prometheus` (Debian/Ubuntu; puts /usr/bin/prometheus on PATH), " +
	"or run `make test`, which installs it when it is missing"

// prometheusServer is a running Prometheus.
type prometheusServer struct {
	*process
	url string // e.g. http://127.0.0.1:12345
}

// startPrometheus runs a real Prometheus with a 1s scrape interval and a single job,
// otelcol-gaudi, scraping scrapeTargets (host:port, path /metrics), its storage in a temporary
// directory, on a free port; extraArgs are appended to its command line (for example
// --web.enable-remote-write-receiver). It waits until /-/ready answers 200.
func startPrometheus(t *testing.T, scrapeTargets []string, extraArgs ...string) *prometheusServer {
	t.Helper()
	quoted := make([]string, len(scrapeTargets))
	for i, target := range scrapeTargets {
		quoted[i] = strconv.Quote(target) // a JSON string is a YAML string
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: otelcol-gaudi
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	return startPrometheusConfig(t, []byte(config), extraArgs...)
}

// startPrometheusConfig runs a real Prometheus on config (prometheus.yml's content), its storage in
// a temporary directory, on a free port, with extraArgs appended to its command line. It waits
// until /-/ready answers 200.
func startPrometheusConfig(t *testing.T, config []byte, extraArgs ...string) *prometheusServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("%s (%v)", prometheusMissing, err)
	}

	// The temporary directory is created before the process is started, so its removal (a
	// t.Cleanup too) runs after Prometheus has been stopped.
	dir := t.TempDir()
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, config, 0o644); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	args := append([]string{
		"--config.file=" + configPath,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
	}, extraArgs...)
	p := &prometheusServer{
		process: startProcess(t, "prometheus", bin, args...),
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
	}
	waitHTTP200(t, p.process, p.url+"/-/ready", startupDeadline)
	return p
}

// query runs an instant query against Prometheus's HTTP API and fails the test on any error.
func query(t *testing.T, promURL, expr string) model.Vector {
	t.Helper()
	v, err := queryVector(context.Background(), promURL, expr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// queryVector runs an instant query (GET /api/v1/query) whose result must be a vector.
func queryVector(ctx context.Context, promURL, expr string) (model.Vector, error) {
	u := promURL + "/api/v1/query?" + url.Values{"query": {expr}}.Encode()
	status, body, err := httpGet(ctx, u, "application/json")
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	var resp struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d, undecodable response %q: %w", expr, status, body, err)
	}
	if status != http.StatusOK || resp.Status != "success" {
		return nil, fmt.Errorf("query %q: HTTP %d, status %q: %s: %s", expr, status, resp.Status, resp.ErrorType, resp.Error)
	}
	if resp.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %q, want vector", expr, resp.Data.ResultType)
	}
	var v model.Vector
	if err := json.Unmarshal(resp.Data.Result, &v); err != nil {
		return nil, fmt.Errorf("query %q: decoding the vector: %w", expr, err)
	}
	return v, nil
}
