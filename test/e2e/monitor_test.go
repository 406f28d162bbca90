package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// monitorComponents are the processes deploy/monitor.sh starts, by the name of their pid file.
var monitorComponents = []string{"otelcol-gaudi", "alertmanager", "prometheus"}

// monitorCommandTimeout bounds one `deploy/monitor.sh` or `make monitor-*` run; the script's own waits
// are bounded by MONITOR_TIMEOUT (startupDeadline).
const monitorCommandTimeout = 5 * time.Minute

// monitorStack is the environment of a monitor.sh stack: a state directory of its own and every
// port on a free one.
type monitorStack struct {
	dir   string
	env   []string
	ports map[string]int // by environment variable
}

func newMonitorStack(t *testing.T, collectorArgs ...string) *monitorStack {
	t.Helper()
	s := &monitorStack{dir: t.TempDir(), ports: map[string]int{}}
	s.env = []string{
		"MONITOR_DIR=" + s.dir,
		fmt.Sprintf("MONITOR_TIMEOUT=%d", int(startupDeadline.Seconds())),
		"MONITOR_COLLECTOR_ARGS=" + strings.Join(collectorArgs, " "),
		"OTELCOL_GAUDI_BIN=" + collectorBin,
	}
	for _, v := range []string{
		"MONITOR_PROMETHEUS_PORT", "MONITOR_ALERTMANAGER_PORT", "MONITOR_COLLECTOR_METRICS_PORT",
		"MONITOR_COLLECTOR_TELEMETRY_PORT", "MONITOR_COLLECTOR_HEALTH_PORT", "MONITOR_HPU_HEALTH_PORT",
		"MONITOR_OTLP_GRPC_PORT", "MONITOR_OTLP_HTTP_PORT",
	} {
		s.ports[v] = freePort(t)
		s.env = append(s.env, fmt.Sprintf("%s=%d", v, s.ports[v]))
	}
	return s
}

func (s *monitorStack) url(portVar, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.ports[portVar], path)
}

// monitorEnv is the test's environment without any MONITOR_* setting or make's own variables (a
// developer's, or those of the make running the tests), plus env.
func monitorEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "MONITOR_") || name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

// runMonitor runs deploy/monitor.sh with args (or, with args[0] == "make", make in the repository root)
// in env and returns its combined output and error.
func runMonitor(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), monitorCommandTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if args[0] == "make" {
		cmd = exec.CommandContext(ctx, "make", append([]string{"--no-print-directory"}, args[1:]...)...)
	} else {
		cmd = exec.CommandContext(ctx, filepath.Join(repoRoot, "deploy", "monitor.sh"), args...)
	}
	cmd.Dir = repoRoot
	cmd.Env = monitorEnv(env)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish within %s:\n%s", args, monitorCommandTimeout, out.String())
	}
	t.Logf("%s: %s after %s:\n%s", strings.Join(args, " "), exitDescription(err), time.Since(start).Round(time.Millisecond), out.String())
	return out.String(), err
}

// monitorProcess is a process as monitor.sh records it in its pid file: pid and start time.
type monitorProcess struct {
	name      string
	pid       int
	startTime string // in clock ticks since boot, as /proc/<pid>/stat has it; "" when unknown
}

func readMonitorPidFile(t *testing.T, dir, name string) monitorProcess {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		t.Fatalf("the pid file of %s: %v", name, err)
	}
	fields := strings.Fields(string(raw))
	if len(fields) != 2 {
		t.Fatalf("%s.pid = %q, want \"<pid> <start time>\"", name, raw)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		t.Fatalf("%s.pid = %q: %v", name, raw, err)
	}
	return monitorProcess{name: name, pid: pid, startTime: fields[1]}
}

// running reports whether the process still runs: its pid is live, not a zombie (the stack's processes
// are orphans, reaped by whatever adopted them) and, when the start time is known, not reused by a
// later process.
func (p monitorProcess) running(t *testing.T) bool {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which may contain spaces: state is the first, start time the 20th.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	return fields[0] != "Z" && (p.startTime == "" || fields[19] == p.startTime)
}

// portClosed reports whether nothing accepts connections on 127.0.0.1:port.
func portClosed(port int) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err == nil {
		conn.Close()
	}
	return err != nil
}

// apiGet fetches a Prometheus or Alertmanager API URL and decodes its JSON into v.
func apiGet(ctx context.Context, url string, v any) error {
	status, body, err := httpGet(ctx, url, "application/json")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w: %s", url, err, body)
	}
	return nil
}

// TestMonitorUpDown runs `make monitor-up`'s script on free ports and checks the stack it leaves
// running through Prometheus' and Alertmanager's APIs: both collector targets up under one instance,
// every shipped rule loaded and evaluating, the HPUs' series stored, the collector's own ALERTS
// dropped, Alertmanager routing and inhibiting; a second `up` is refused; `make monitor-down` stops
// every process and frees every port, and is idempotent.
func TestMonitorUpDown(t *testing.T) {
	t.Parallel()
	mustLookPath(t, "prometheus", "prometheus")
	mustLookPath(t, "prometheus-alertmanager", "alertmanager", "prometheus-alertmanager")
	// The collector also fires an alert at once, so that the test can see its ALERTS dropped.
	s := newMonitorStack(t,
		"--set=connectors::threshold::rule_files=[test/e2e/testdata/monitor/always-firing.rules.yaml]",
		"--set=connectors::threshold::evaluation_interval=1s",
		"--set=receivers::gaudi::collection_interval=1s")

	t.Cleanup(func() {
		if _, err := runMonitor(t, s.env, "down"); err != nil {
			t.Errorf("monitor.sh down at the end of the test: %v", err)
		}
	})
	if _, err := runMonitor(t, s.env, "up"); err != nil {
		t.Fatalf("monitor.sh up: %v", err)
	}
	var procs []monitorProcess
	for _, name := range monitorComponents {
		p := readMonitorPidFile(t, s.dir, name)
		if !p.running(t) {
			t.Fatalf("%s (pid %d) is not running after monitor.sh up; its log:\n%s", name, p.pid, readFileOrErr(filepath.Join(s.dir, name+".log")))
		}
		procs = append(procs, p)
	}

	t.Run("status", func(t *testing.T) {
		out, err := runMonitor(t, s.env, "status")
		if err != nil {
			t.Fatalf("monitor.sh status: %v", err)
		}
		for _, p := range procs {
			if want := fmt.Sprintf("running (pid %d)", p.pid); !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(p.name) + `\s+` + regexp.QuoteMeta(want)).MatchString(out) {
				t.Errorf("monitor.sh status does not say %s is %s", p.name, want)
			}
		}
		if want := s.url("MONITOR_PROMETHEUS_PORT", ""); !strings.Contains(out, want) {
			t.Errorf("monitor.sh status does not show Prometheus' URL %s", want)
		}
	})

	t.Run("second up is refused", func(t *testing.T) {
		out, err := runMonitor(t, s.env, "up")
		if err == nil || !strings.Contains(out, "already running") {
			t.Errorf("monitor.sh up on a running stack: %s, want a failure saying it is already running", exitDescription(err))
		}
		for _, p := range procs {
			if !p.running(t) {
				t.Errorf("%s (pid %d) stopped after the refused second up", p.name, p.pid)
			}
		}
	})

	promURL := s.url("MONITOR_PROMETHEUS_PORT", "")
	t.Run("prometheus", func(t *testing.T) { checkMonitorPrometheus(t, promURL) })
	t.Run("collector ALERTS dropped", func(t *testing.T) {
		checkMonitorDropsCollectorAlerts(t, promURL, s.url("MONITOR_COLLECTOR_METRICS_PORT", "/metrics"))
	})
	t.Run("alertmanager", func(t *testing.T) {
		checkMonitorAlertmanager(t, promURL, s.url("MONITOR_ALERTMANAGER_PORT", ""))
	})

	// make monitor-down has no prerequisite, so the test runs the target itself.
	if _, err := runMonitor(t, s.env, "make", "monitor-down"); err != nil {
		t.Fatalf("make monitor-down: %v", err)
	}
	for _, p := range procs {
		if p.running(t) {
			t.Errorf("%s (pid %d) still runs after make monitor-down", p.name, p.pid)
		}
		if _, err := os.Stat(filepath.Join(s.dir, p.name+".pid")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s.pid is still there after make monitor-down (%v)", p.name, err)
		}
	}
	for v, port := range s.ports {
		if !portClosed(port) {
			t.Errorf("port %d (%s) still accepts connections after make monitor-down", port, v)
		}
	}
	if out, err := runMonitor(t, s.env, "make", "monitor-down"); err != nil {
		t.Errorf("a second make monitor-down: %v\n%s", err, out)
	}
}

func readFileOrErr(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(raw)
}

// checkMonitorPrometheus checks that the stack's Prometheus scrapes both collector jobs under one
// instance (the host), has loaded and evaluates every shipped alert rule, and stores the HPUs' series.
func checkMonitorPrometheus(t *testing.T, promURL string) {
	ctx := context.Background()
	eventually(t, 2*startupDeadline, func() (bool, string) {
		up, err := queryVector(ctx, promURL, "up")
		if err != nil {
			return false, err.Error()
		}
		jobs := map[string]bool{}
		for _, s := range up {
			if s.Value != 1 || s.Metric["instance"] != "127.0.0.1" {
				return false, fmt.Sprintf("up: %v, want every target up with instance 127.0.0.1 (the host, without port)", up)
			}
			jobs[string(s.Metric["job"])] = true
		}
		if len(up) != 2 || !jobs["otelcol-gaudi"] || !jobs["otelcol-gaudi-telemetry"] {
			return false, fmt.Sprintf("up: %v, want the jobs otelcol-gaudi and otelcol-gaudi-telemetry", up)
		}
		return true, ""
	})

	var want []string
	for _, r := range shippedAlertRules(t) {
		want = append(want, r.Alert)
	}
	slices.Sort(want)
	eventually(t, 2*startupDeadline, func() (bool, string) {
		var resp struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name      string `json:"name"`
						Type      string `json:"type"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := apiGet(ctx, promURL+"/api/v1/rules", &resp); err != nil {
			return false, err.Error()
		}
		var got []string
		for _, g := range resp.Data.Groups {
			for _, r := range g.Rules {
				if r.Health == "err" {
					t.Fatalf("rule %s fails to evaluate: %s", r.Name, r.LastError)
				}
				if r.Health != "ok" {
					return false, fmt.Sprintf("rule %s not evaluated yet (health %q)", r.Name, r.Health)
				}
				got = append(got, r.Name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("Prometheus loaded the rules %v, want the %d of configs/prometheus/rules: %v", got, len(want), want)
		}
		return true, ""
	})
	t.Logf("Prometheus loaded and evaluates all %d rules", len(want))

	eventually(t, 2*startupDeadline, func() (bool, string) {
		temps, err := queryVector(ctx, promURL, `hpu_temperature_celsius{hpu_sensor="on_chip"}`)
		if err != nil {
			return false, err.Error()
		}
		devices := map[model.LabelValue]bool{}
		for _, s := range temps {
			if s.Metric["job"] != "otelcol-gaudi" || s.Metric["instance"] != "127.0.0.1" {
				t.Fatalf("hpu_temperature_celsius: %v, want job otelcol-gaudi and instance 127.0.0.1", s.Metric)
			}
			devices[s.Metric["hpu_index"]] = true
		}
		if len(temps) != 8 || len(devices) != 8 {
			return false, fmt.Sprintf("hpu_temperature_celsius{hpu_sensor=\"on_chip\"}: %d series of %d devices, want one for each of the 8 simulated HPUs", len(temps), len(devices))
		}
		return true, ""
	})
}

// checkMonitorDropsCollectorAlerts checks that Prometheus drops the ALERTS the collector exposes: it
// evaluates the same rules itself, and the two would collide.
func checkMonitorDropsCollectorAlerts(t *testing.T, promURL, collectorMetricsURL string) {
	ctx := context.Background()
	var exposed int
	eventually(t, startupDeadline, func() (bool, string) {
		families, err := scrape(ctx, collectorMetricsURL)
		if err != nil {
			return false, err.Error()
		}
		exposed = len(families["ALERTS"])
		return exposed > 0, "the collector exposes no ALERTS yet"
	})
	// A scrape after the collector exposed its ALERTS dropped at least those.
	const dropped = `scrape_samples_scraped{job="otelcol-gaudi"} - scrape_samples_post_metric_relabeling{job="otelcol-gaudi"}`
	eventually(t, 2*startupDeadline, func() (bool, string) {
		v, err := queryVector(ctx, promURL, dropped)
		if err != nil {
			return false, err.Error()
		}
		if len(v) != 1 || int(v[0].Value) < exposed {
			return false, fmt.Sprintf("%s = %v, want at least the collector's %d ALERTS series", dropped, v, exposed)
		}
		return true, ""
	})
	for _, expr := range []string{`ALERTS{alertname="E2EAlwaysFiring"}`, `ALERTS_FOR_STATE{alertname="E2EAlwaysFiring"}`} {
		if v := query(t, promURL, expr); len(v) != 0 {
			t.Errorf("Prometheus stored the collector's %s: %v", expr, v)
		}
	}
}

// checkMonitorAlertmanager checks that Prometheus sends to the stack's Alertmanager, and that this one
// routes by severity and applies the inhibit rules of configs/prometheus/alertmanager.yml to alerts
// posted as Prometheus posts them.
func checkMonitorAlertmanager(t *testing.T, promURL, amURL string) {
	ctx := context.Background()
	var ams struct {
		Data struct {
			Active []struct {
				URL string `json:"url"`
			} `json:"activeAlertmanagers"`
		} `json:"data"`
	}
	eventually(t, startupDeadline, func() (bool, string) {
		if err := apiGet(ctx, promURL+"/api/v1/alertmanagers", &ams); err != nil {
			return false, err.Error()
		}
		want := amURL + "/api/v2/alerts"
		return len(ams.Data.Active) == 1 && ams.Data.Active[0].URL == want,
			fmt.Sprintf("Prometheus sends alerts to %+v, want %s", ams.Data.Active, want)
	})

	type testAlert struct {
		labels    map[string]string
		receiver  string
		inhibited bool
	}
	alert := func(name, severity, instance, hpuIndex, receiver string, inhibited bool) testAlert {
		l := map[string]string{"alertname": name, "severity": severity, "instance": instance, "e2e": t.Name()}
		if hpuIndex != "" {
			l["hpu_index"] = hpuIndex
		}
		return testAlert{labels: l, receiver: receiver, inhibited: inhibited}
	}
	alerts := []testAlert{
		alert("HPUDeviceFailed", "critical", "node-1", "3", "pager", false),
		// A failed device mutes everything else of that device, critical or not.
		alert("HPUHighTemperature", "critical", "node-1", "3", "pager", true),
		alert("HPUClockThrottling", "warning", "node-1", "3", "ticket", true),
		// ... and nothing of another device, or of the same device index on another host.
		alert("HPUClockThrottling", "warning", "node-1", "4", "ticket", false),
		alert("HPUClockThrottling", "warning", "node-2", "3", "ticket", false),
		// A critical alert mutes the warnings of its device.
		alert("HPUHighTemperature", "critical", "node-1", "5", "pager", false),
		alert("HPUTemperatureNearSlowdown", "warning", "node-1", "5", "ticket", true),
		// Without a device on both sides, nothing is muted.
		alert("TrainingStalled", "critical", "node-1", "", "pager", false),
		alert("SlowBatchProcessing", "warning", "node-1", "", "ticket", false),
	}
	var post []map[string]any
	for _, a := range alerts {
		post = append(post, map[string]any{"labels": a.labels})
	}
	body, err := json.Marshal(post)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, amURL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s/api/v2/alerts: %s", amURL, resp.Status)
	}

	key := func(l map[string]string) string {
		return l["alertname"] + "/" + l["instance"] + "/" + l["hpu_index"]
	}
	// The inhibitor learns of new alerts asynchronously.
	eventually(t, startupDeadline, func() (bool, string) {
		var got []struct {
			Fingerprint string            `json:"fingerprint"`
			Labels      map[string]string `json:"labels"`
			Receivers   []struct {
				Name string `json:"name"`
			} `json:"receivers"`
			Status struct {
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		if err := apiGet(ctx, amURL+"/api/v2/alerts", &got); err != nil {
			return false, err.Error()
		}
		byFingerprint := map[string]map[string]string{}
		byKey := map[string]int{}
		for i, a := range got {
			if a.Labels["e2e"] == t.Name() {
				byFingerprint[a.Fingerprint] = a.Labels
				byKey[key(a.Labels)] = i
			}
		}
		var wrong []string
		for _, want := range alerts {
			i, ok := byKey[key(want.labels)]
			if !ok {
				return false, fmt.Sprintf("Alertmanager does not have %s yet", key(want.labels))
			}
			a := got[i]
			if len(a.Receivers) != 1 || a.Receivers[0].Name != want.receiver {
				t.Fatalf("%s (%s) goes to %+v, want the receiver %s", key(want.labels), want.labels["severity"], a.Receivers, want.receiver)
			}
			if inhibited := len(a.Status.InhibitedBy) > 0; inhibited != want.inhibited {
				wrong = append(wrong, fmt.Sprintf("%s inhibited: %v, want %v", key(want.labels), inhibited, want.inhibited))
			}
			for _, fp := range a.Status.InhibitedBy {
				src := byFingerprint[fp]
				if src == nil || src["instance"] != a.Labels["instance"] || src["hpu_index"] != a.Labels["hpu_index"] {
					t.Fatalf("%s is inhibited by %v, which is not an alert of the same device", key(want.labels), src)
				}
			}
		}
		return len(wrong) == 0, strings.Join(wrong, "; ")
	})
}

// TestMonitorDefaultsAreTheShippedConfigs checks the stack's defaults: the collector's endpoints are
// those of configs/demo.yaml, Alertmanager's is where configs/prometheus/prometheus.yml sends alerts,
// and Prometheus is on 9090, as in the original design.
func TestMonitorDefaultsAreTheShippedConfigs(t *testing.T) {
	t.Parallel()
	out, err := runMonitor(t, []string{"MONITOR_DIR=" + t.TempDir()}, "status")
	if err != nil {
		t.Fatalf("monitor.sh status: %v", err)
	}
	demo := effectiveCollectorConfig(t, filepath.Join("configs", "demo.yaml"))
	ams := readPrometheusConfig(t, shippedPrometheusYML).alertmanagerTargets()
	if len(ams) != 1 {
		t.Fatalf("%s: Alertmanager targets %v, want one", shippedPrometheusYML, ams)
	}
	for what, want := range map[string]string{
		"Prometheus":                "http://127.0.0.1:9090 ",
		"Alertmanager":              "http://" + ams[0] + "\n",
		"the prometheus exporter":   "http://" + demo.Exporters.Prometheus.Endpoint + "/metrics",
		"the collector's telemetry": "http://" + demo.telemetryEndpoint(t) + "/metrics",
		"health_check":              "http://" + demo.Extensions.HealthCheck.Endpoint + "/ ",
		"hpu_health":                "http://" + demo.Extensions.HPUHealth.Endpoint + "/health",
		"the OTLP gRPC receiver":    demo.Receivers.OTLP.Protocols.GRPC.Endpoint + " (gRPC)",
		"the OTLP HTTP receiver":    demo.Receivers.OTLP.Protocols.HTTP.Endpoint + " (HTTP)",
		"the collector not running": "otelcol-gaudi    not running",
		"Alertmanager not running":  "alertmanager     not running",
		"Prometheus not running":    "prometheus       not running",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("monitor.sh status with the defaults does not show %s: no %q in its output", what, want)
		}
	}
}

// TestMonitorUpFailsAndCleansUp makes Prometheus fail to start (its port is taken): monitor.sh up
// fails, names Prometheus and shows the end of its log, and stops what it had started.
func TestMonitorUpFailsAndCleansUp(t *testing.T) {
	t.Parallel()
	mustLookPath(t, "prometheus", "prometheus")
	s := newMonitorStack(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	env := append(s.env, fmt.Sprintf("MONITOR_PROMETHEUS_PORT=%d", port))
	t.Cleanup(func() { _, _ = runMonitor(t, env, "down") })

	out, err := runMonitor(t, env, "up")
	if err == nil {
		t.Fatal("monitor.sh up with Prometheus' port taken succeeded, want a failure")
	}
	for _, want := range []string{"prometheus exited", "address already in use"} {
		if !strings.Contains(out, want) {
			t.Errorf("monitor.sh up's output does not say %q", want)
		}
	}
	stopped := regexp.MustCompile(`stopped (\S+) \(pid (\d+)\)`).FindAllStringSubmatch(out, -1)
	var names []string
	for _, m := range stopped {
		names = append(names, m[1])
		pid, _ := strconv.Atoi(m[2])
		if p := (monitorProcess{name: m[1], pid: pid}); p.running(t) {
			t.Errorf("%s (pid %d) still runs after the failed up", p.name, p.pid)
		}
	}
	if slices.Sort(names); !slices.Equal(names, []string{"alertmanager", "otelcol-gaudi"}) {
		t.Errorf("the failed up stopped %v, want the collector and Alertmanager it had started", names)
	}
	for _, name := range monitorComponents {
		if _, err := os.Stat(filepath.Join(s.dir, name+".pid")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s.pid is left after the failed up (%v)", name, err)
		}
	}
	for _, v := range []string{"MONITOR_COLLECTOR_HEALTH_PORT", "MONITOR_ALERTMANAGER_PORT"} {
		if !portClosed(s.ports[v]) {
			t.Errorf("port %d (%s) still accepts connections after the failed up", s.ports[v], v)
		}
	}
}

// TestMonitorIgnoresStalePidFiles gives monitor.sh pid files of processes that are gone or that are not
// the ones it started: one names this test's own process with another start time (as when a pid is
// reused), one names it without a start time, one a pid that does not exist. status reports nothing running, and
// down removes the files without signalling anything: this test survives it.
func TestMonitorIgnoresStalePidFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"otelcol-gaudi": fmt.Sprintf("%d 1\n", os.Getpid()),
		"alertmanager":  fmt.Sprintf("%d\n", os.Getpid()),
		"prometheus":    "2147483647\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"MONITOR_DIR=" + dir}
	out, err := runMonitor(t, env, "status")
	if err != nil {
		t.Fatalf("monitor.sh status: %v", err)
	}
	for _, name := range monitorComponents {
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s+not running$`).MatchString(out) {
			t.Errorf("monitor.sh status does not say %s is not running", name)
		}
	}
	if _, err := runMonitor(t, env, "down"); err != nil {
		t.Fatalf("monitor.sh down: %v", err)
	}
	for _, name := range monitorComponents {
		if _, err := os.Stat(filepath.Join(dir, name+".pid")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s.pid is still there after monitor.sh down (%v)", name, err)
		}
	}
}
