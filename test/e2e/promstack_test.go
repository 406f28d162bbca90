package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// shippedPrometheusConfig returns configs/prometheus/prometheus.yml as a test runs it: the two
// collector jobs scrape metricsAddr and telemetryAddr (host:port), alerts go to alertmanagerAddr, rule
// files are made absolute, and every interval is 1s so that rates and `for` clocks move within a test.
// Everything else (relabelling, the ALERTS drop, the rule files) is the shipped file's.
func shippedPrometheusConfig(t *testing.T, metricsAddr, telemetryAddr, alertmanagerAddr string) []byte {
	t.Helper()
	dir := filepath.Join(repoRoot, "configs", "prometheus")
	raw, err := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	if err != nil {
		t.Fatalf("the shipped Prometheus config: %v", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("configs/prometheus/prometheus.yml: %v", err)
	}

	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"], global["scrape_timeout"], global["evaluation_interval"] = "1s", "1s", "1s"

	targets := map[string]string{"otelcol-gaudi": metricsAddr, "otelcol-gaudi-telemetry": telemetryAddr}
	scrapeConfigs, _ := cfg["scrape_configs"].([]any)
	for _, sc := range scrapeConfigs {
		job, _ := sc.(map[string]any)
		name, _ := job["job_name"].(string)
		if addr, ok := targets[name]; ok {
			job["static_configs"] = []any{map[string]any{"targets": []any{addr}}}
			delete(targets, name)
		}
	}
	if len(targets) > 0 {
		t.Fatalf("configs/prometheus/prometheus.yml has no scrape job for %v", targets)
	}

	ruleFiles, _ := cfg["rule_files"].([]any)
	if len(ruleFiles) == 0 {
		t.Fatal("configs/prometheus/prometheus.yml loads no rule_files")
	}
	for i, f := range ruleFiles {
		ruleFiles[i] = filepath.Join(dir, f.(string))
	}

	cfg["alerting"] = map[string]any{"alertmanagers": []any{map[string]any{
		"static_configs": []any{map[string]any{"targets": []any{alertmanagerAddr}}},
	}}}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// alertmanagerServer is a running Alertmanager.
type alertmanagerServer struct {
	*process
	addr string // host:port
}

// startAlertmanager runs a real Alertmanager on configs/prometheus/alertmanager.yml, on a free port,
// without clustering, and waits until it is ready. Its receivers' webhooks point at nothing here.
func startAlertmanager(t *testing.T) *alertmanagerServer {
	t.Helper()
	bin := mustLookPath(t, "prometheus-alertmanager", "alertmanager", "prometheus-alertmanager")
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	a := &alertmanagerServer{
		process: startProcess(t, "alertmanager", bin,
			"--config.file="+filepath.Join(repoRoot, "configs", "prometheus", "alertmanager.yml"),
			"--storage.path="+dir, "--web.listen-address="+addr, "--cluster.listen-address="),
		addr: addr,
	}
	waitHTTP200(t, a.process, "http://"+addr+"/-/ready", startupDeadline)
	return a
}

// queryRangeWindow runs expr as Grafana does for a panel: a range query over the last window at step.
func queryRangeWindow(ctx context.Context, promURL, expr string, window, step time.Duration) ([]model.SampleStream, error) {
	now := time.Now()
	v := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(now.Add(-window).Unix(), 10)},
		"end":   {strconv.FormatInt(now.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	return getMatrix(ctx, promURL+"/api/v1/query_range?"+v.Encode(), expr)
}

// metricNames returns every metric name Prometheus holds (GET /api/v1/label/__name__/values).
func metricNames(ctx context.Context, promURL string) (map[string]bool, error) {
	var resp struct {
		Data []string `json:"data"`
	}
	if err := apiGet(ctx, promURL+"/api/v1/label/__name__/values", &resp); err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(resp.Data))
	for _, n := range resp.Data {
		names[n] = true
	}
	return names, nil
}
