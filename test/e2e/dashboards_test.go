package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/otelcol-gaudi/otelcol-gaudi/dashboards"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/fakekubelet"
)

// dashboardsDeadline bounds the wait for every query to return data: the slowest are the pending
// alerts of rules whose condition needs the overheat ramp (about 30 s) and rates that need two
// scrapes, on a loaded machine.
const dashboardsDeadline = 4 * time.Minute

// dashboardsJob is the training job trainsim runs for the proof; it uses the HPUs 4 to 7, which the fake
// kubelet allocates to the pod dashboardsPod in the namespace training (HPUs 0 to 3 go to other pods).
const (
	dashboardsJob = "e2e-dashboards"
	dashboardsPod = "e2e-dashboards-worker-0"
)

// TestDashboardQueriesReturnData is the proof that the dashboards work on our own data: the built
// collector on configs/demo.yaml with simulated faults that trigger the shipped alerts (and a sensor
// glitch that the receiver rejects, for the panel counting rejected readings), trainsim
// training on four of its HPUs (one rank slow), a real Alertmanager, and a real Prometheus on
// configs/prometheus/prometheus.yml (its relabelling, its ALERTS drop, its rule files). Through
// Prometheus' HTTP API, as Grafana runs them:
//   - every panel and annotation query of every dashboard returns data, with every variable at All and
//     again with host and job at the values their variable queries list;
//   - so does every vector selector inside each query on its own, so that no `or vector(0)` fallback
//     or `or ... * 0` can make a panel look alive while a metric it reads is missing;
//   - every metric name a dashboard reads is one Prometheus holds from the collector;
//   - every variable query lists values.
//
// Loki cannot run here: the Loki panels' LogQL runs against the records the collector pushed to a
// fake Loki's OTLP endpoint, mapped as Loki maps OTLP (logql_test.go).
//
// A fake kubelet (PodResources and /stats/summary, internal/fakekubelet) gives the HPUs their pods and
// the kubelet_stats receiver the pods' containers, for the pod and namespace variables and the
// Infrastructure dashboard's container panels.
//
// The collector also exports its metrics to a backend that is down, through a one-request queue, so
// that the collector-health panels reading failure counters, which the collector emits only after the
// first failure, have data as they would on a node whose backend fails.
func TestDashboardQueriesReturnData(t *testing.T) {
	t.Parallel()
	boards, err := dashboards.Load()
	if err != nil {
		t.Fatalf("loading the dashboards: %v", err)
	}

	loki := startFakeLoki(t)
	kubelet := startKubeletNode(t)
	grpcPort, downPort := freePort(t), freePort(t)
	c := startDemoCollector(t, append(kubelet.sets,
		fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", grpcPort),
		"receivers::gaudi::simulator::faults=[{device: 5, kind: overheat}, {device: 5, kind: rows_pending}, {device: 6, kind: nic_link_down}, {device: 2, kind: fail}, {device: 4, kind: sensor_glitch}]",
		"receivers::host_metrics::collection_interval=1s",
		"connectors::threshold::evaluation_interval=1s",
		"exporters::otlp_http/loki::endpoint="+loki.URL+"/otlp",
		"service::pipelines::logs::exporters=[debug/events, otlp_http/loki]",
		"service::pipelines::logs/alerts::exporters=[debug/events, otlp_http/loki]",
		fmt.Sprintf("exporters::otlp_http/down::endpoint=http://127.0.0.1:%d", downPort),
		"exporters::otlp_http/down::sending_queue::queue_size=1",
		"exporters::otlp_http/down::retry_on_failure::initial_interval=500ms",
		"exporters::otlp_http/down::retry_on_failure::max_interval=500ms",
		"exporters::otlp_http/down::retry_on_failure::max_elapsed_time=1s",
		"service::pipelines::metrics/export::exporters=[prometheus, debug, otlp_http/down]",
		"service::pipelines::metrics::receivers=[gaudi, host_metrics, otlp, kubelet_stats]",
	)...)
	am := startAlertmanager(t)
	prom := startPrometheusConfig(t, shippedPrometheusConfig(t, hostPort(t, c.metricsURL), hostPort(t, c.telemetryURL), am.addr))

	// As `make demo` does: rank i uses the HPU with hpu_index 4+i, whose module id hpu_info gives.
	info := waitForFamilies(t, c.process, c.metricsURL, "hpu_info")["hpu_info"]
	moduleOf := map[string]string{}
	serials, pcis := make([]string, 8), make([]string, 8)
	for _, s := range info {
		i := s.Metric["hpu_index"]
		moduleOf[string(i)] = string(s.Metric["hpu_module_id"])
		if n, err := strconv.Atoi(string(i)); err == nil && n < 8 {
			serials[n], pcis[n] = string(s.Metric["hpu_serial"]), string(s.Metric["hpu_pci_bus_id"])
		}
	}
	kubelet.SetPods(append(fakekubelet.GaudiNode(serials, pcis), fakekubelet.Pod{
		Namespace: "training", Name: dashboardsPod, UID: "5d1e7c9a-3b2f-4e6d-8a0c-9f1b2c3d4e06",
		Containers: []fakekubelet.Container{
			{Name: "trainer", Devices: map[string][]string{fakekubelet.GaudiResource: serials[4:]}, CPUCores: 6, MemoryBytes: 96 << 30},
			{Name: "log-shipper", CPUCores: 0.1, MemoryBytes: 64 << 20},
		},
	})...)
	modules := []string{moduleOf["4"], moduleOf["5"], moduleOf["6"], moduleOf["7"]}
	trainsim := startProcess(t, "trainsim", buildTrainsim(t),
		"-endpoint", fmt.Sprintf("127.0.0.1:%d", grpcPort), "-ranks", "4", "-job-id", dashboardsJob,
		"-visible-modules", strings.Join(modules, ","), "-hpu-indexes", "4,5,6,7",
		"-interval", "100ms", "-export-interval", "1s", "-log-every", "10", "-eval-every", "20",
		"-fault-ranks", "1", "-slow-factor", "4")

	type check struct{ what, promql string }
	var checks []check
	var logChecks []dashboards.Query
	var variables []dashboards.Query
	for _, b := range boards {
		all := map[string]string{}
		for _, v := range b.Model.Templating.List {
			all[v.Name] = ".*"
		}
		chosen := map[string]string{"host": "127.0.0.1", "job": dashboardsJob, "namespace": "training", "pod": dashboardsPod}
		for _, q := range b.Queries() {
			where := fmt.Sprintf("%s %s %q %s", q.Dashboard, q.Source, q.Panel, q.RefID)
			switch {
			case q.Source == "variable":
				variables = append(variables, q)
			case q.Datasource == "loki":
				logChecks = append(logChecks, q)
			default:
				for _, values := range []map[string]string{all, merged(all, chosen)} {
					expr := dashboards.Expand(q.Expr, values)
					checks = append(checks, check{where, expr})
					selectors, err := vectorSelectors(expr)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					for _, s := range selectors {
						checks = append(checks, check{where + " selector", s})
					}
				}
			}
		}
	}
	if len(checks) == 0 || len(logChecks) == 0 || len(variables) == 0 {
		t.Fatalf("found %d Prometheus checks, %d Loki queries and %d variables; want some of each", len(checks), len(logChecks), len(variables))
	}

	ctx := context.Background()
	pending := slices.Clone(checks)
	eventually(t, dashboardsDeadline, func() (bool, string) {
		c.failIfExited(t)
		trainsim.failIfExited(t)
		var still []check
		for _, ch := range pending {
			series, err := queryRangeWindow(ctx, prom.url, ch.promql, 5*time.Minute, 5*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", ch.what, err)
			}
			if len(series) == 0 {
				still = append(still, ch)
			}
		}
		pending = still
		if len(pending) > 0 {
			return false, fmt.Sprintf("%d of %d queries return no data yet, e.g. %s: %s", len(pending), len(checks), pending[0].what, pending[0].promql)
		}
		return true, ""
	})
	t.Logf("all %d Prometheus queries and selectors return data", len(checks))

	names, err := metricNames(ctx, prom.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boards {
		for _, q := range b.Queries() {
			if q.Datasource != "prometheus" {
				continue
			}
			used, err := dashboards.MetricNames(dashboards.Expand(q.Expr, map[string]string{}))
			if err != nil {
				t.Fatalf("%s %q: %v", q.Dashboard, q.Panel, err)
			}
			for _, n := range used {
				if !names[n] {
					t.Errorf("%s %s %q reads %s, which Prometheus does not hold", q.Dashboard, q.Source, q.Panel, n)
				}
			}
		}
	}

	for _, v := range variables {
		values, err := labelValues(ctx, prom.url, dashboards.Expand(v.Expr, map[string]string{"host": ".*", "job": ".*", "severity": ".*", "namespace": ".*"}), v.Label)
		if err != nil {
			t.Fatalf("%s variable %s: %v", v.Dashboard, v.Panel, err)
		}
		if len(values) == 0 {
			t.Errorf("%s variable %s (label_values(%s, %s)) lists no values", v.Dashboard, v.Panel, v.Expr, v.Label)
		}
		want := map[string]string{"host": "127.0.0.1", "job": dashboardsJob, "namespace": "training", "pod": dashboardsPod}[v.Panel]
		if want != "" && !slices.Contains(values, want) {
			t.Errorf("%s variable %s lists %v, want %q among them", v.Dashboard, v.Panel, values, want)
		}
	}

	// The Loki panels: every log query selects records the collector pushed.
	eventually(t, dashboardsDeadline, func() (bool, string) {
		var entries []lokiEntry
		for _, r := range loki.all() {
			entries = append(entries, lokiEntries(r.logs)...)
		}
		for _, q := range logChecks {
			expr := dashboards.Expand(q.Expr, map[string]string{"job": dashboardsJob, "rank": ".*", "alertname": ".*", "severity": ".*"})
			lq, err := parseLogQuery(expr)
			if err != nil {
				t.Fatalf("%s %q: %v", q.Dashboard, q.Panel, err)
			}
			if !slices.ContainsFunc(entries, lq.matches) {
				return false, fmt.Sprintf("%s %q: none of the %d records pushed to Loki matches %s", q.Dashboard, q.Panel, len(entries), expr)
			}
		}
		return true, ""
	})
	t.Logf("all %d Loki queries select pushed records", len(logChecks))
}

// vectorSelectors returns each vector selector of a PromQL expression as an expression of its own.
func vectorSelectors(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", expr, err)
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.String())
		}
		return nil
	})
	return out, nil
}

// labelValues lists the values of label on the series selector selects (Grafana's label_values).
func labelValues(ctx context.Context, promURL, selector, label string) ([]string, error) {
	expr := fmt.Sprintf("count by (%s) (%s)", label, selector)
	if selector == "" {
		expr = fmt.Sprintf("count by (%s) ({%s!=\"\"})", label, label)
	}
	v, err := queryVector(ctx, promURL, expr)
	if err != nil {
		return nil, err
	}
	var values []string
	for _, s := range v {
		if val := s.Metric[model.LabelName(label)]; val != "" {
			values = append(values, string(val))
		}
	}
	return values, nil
}

// merged returns a copy of base with over's entries set.
func merged(base, over map[string]string) map[string]string {
	m := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		if _, ok := base[k]; ok {
			m[k] = v
		}
	}
	return m
}

// hostPort returns the host:port of an http URL.
func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
