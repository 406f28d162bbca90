package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/otelcol-gaudi/otelcol-gaudi/dashboards"
)

// systemPython is Debian's interpreter, which sees Debian's python3-torch and python3-prometheus-client;
// a python3 earlier on PATH (pyenv, a virtualenv) may not.
const systemPython = "/usr/bin/python3"

// stallDeadline bounds how long TrainingStalled may take to fire after the collector started: the ranks'
// start (torch's import), the stalled rank's 40 batches, the fast rule's 10s window and 5s `for`.
const stallDeadline = 2 * time.Minute

// requirePythonTraining fails the test unless Debian's Python can import torch and prometheus_client.
func requirePythonTraining(t *testing.T) {
	t.Helper()
	out, err := exec.Command(systemPython, "-c", "import torch, prometheus_client").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import torch and prometheus_client (%v): %s\n"+
			"install the Debian packages python3-torch and python3-prometheus-client, or run `make test`, which installs them",
			systemPython, err, out)
	}
}

// TestPrometheusClientJobStalls runs two ranks of examples/prometheus-client/train.py (prometheus_client as
// the original design uses it, around a real PyTorch loop) registered by the Slurm task prolog, on the
// collector of configs/training-scrape.yaml with simulated HPUs, and a Prometheus scraping that collector.
// Rank 1 stops training after 40 batches while its endpoint keeps answering. TrainingStalled (a fast copy)
// goes pending, then firing, for rank 1 only, in the collector's ALERTS and in Prometheus' own evaluation;
// each rank's HPU series carry its job and rank; the jobs' own hpu_* gauges never reach the exporter.
// Beside them, a process that names itself (a static target whose only identity is its own labels, as a
// Kubernetes pod's rank must give its HPU) is attributed as a registered rank is, and a registered process
// that claims another job's id keeps the target's: its claim is only exported_training_job_id. Then every
// Prometheus query of the Training dashboard returns data for the scraped job.
func TestPrometheusClientJobStalls(t *testing.T) {
	t.Parallel()
	requirePythonTraining(t)
	targets := t.TempDir()

	// Static targets as the original design runs them (start_http_server(9200)), without identity labels.
	// One moves its counter on at every scrape, exports its own HPU gauge and stamps its samples in 2100:
	// the scrape's own time must be used (honor_timestamps: false), or its series are lost and a process's
	// clock drives the threshold connector's time. The other floods (more than sample_limit series) and
	// must be refused alone: unlimited, it slows the collector's endpoint until Prometheus misses scrapes
	// and takes a healthy rank for stalled.
	var scrapes atomic.Int64
	static := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		fmt.Fprintf(w, "# TYPE hpu_utilization_percent gauge\nhpu_utilization_percent 3\n"+
			"# TYPE training_samples_total counter\ntraining_samples_total %d 4102444800000\n", 32*n)
	}))
	t.Cleanup(static.Close)
	flood := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for i := range 10001 {
			fmt.Fprintf(w, "flood_series{i=\"%d\"} 1\n", i)
		}
	}))
	t.Cleanup(flood.Close)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// A process that puts its identity on its own metrics (docs/prometheus-client-jobs.md): the target has no
	// labels. It names the HPU with hpu_index 2 once the test knows that HPU's module id, and refuses
	// scrapes until then, so that no series of it without the module goes silent and looks stalled.
	const selfJob = "nightly-finetune"
	var selfModule atomic.Pointer[model.LabelValue]
	self := httptest.NewServer(counterHandler(func() string {
		if m := selfModule.Load(); m != nil {
			return fmt.Sprintf(`training_job_id=%q,training_rank="0",hpu_module_id=%q,host_name=%q`, selfJob, *m, host)
		}
		return ""
	}))
	t.Cleanup(self.Close)
	staticAddr, floodAddr := strings.TrimPrefix(static.URL, "http://"), strings.TrimPrefix(flood.URL, "http://")
	selfAddr := strings.TrimPrefix(self.URL, "http://")

	// Any local user can write the targets directory: a target off this node must not be scraped.
	const offNode = "192.0.2.1:9200"
	if err := os.WriteFile(filepath.Join(targets, "elsewhere.json"),
		[]byte(`[{"targets":["`+offNode+`"],"labels":{"training_job_id":"666","training_rank":"0"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}

	promPort, hpuHealthPort := freePort(t), freePort(t)
	c := startNodeCollectorEnv(t,
		[]string{"OTELCOL_GAUDI_TARGETS_DIR=" + targets, "OTELCOL_GAUDI_STATIC_TARGETS=[" + staticAddr + "," + floodAddr + "," + selfAddr + "]"},
		"training-scrape.yaml",
		"receivers::gaudi::simulator::devices=4", // two for the ranks, one each for the labelled and the claiming process
		"receivers::prometheus/training::config::global::scrape_interval=1s",
		"receivers::prometheus/training::config::global::scrape_timeout=1s",
		"connectors::threshold::rule_files=[test/e2e/testdata/training-stalled-fast.rules.yaml]",
		"connectors::threshold::evaluation_interval=1s",
		fmt.Sprintf("extensions::hpu_health::endpoint=127.0.0.1:%d", hpuHealthPort),
		fmt.Sprintf("exporters::prometheus::endpoint=127.0.0.1:%d", promPort),
	)
	c.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)

	// As `make demo` does: local rank i uses the simulated HPU with hpu_index i.
	moduleOf := map[model.LabelValue]model.LabelValue{}
	for _, s := range waitForFamilies(t, c.process, c.metricsURL, "hpu_info")["hpu_info"] {
		moduleOf[s.Metric["hpu_index"]] = s.Metric["hpu_module_id"]
	}
	selfModuleID := moduleOf["2"]
	selfModule.Store(&selfModuleID)
	const jobID, jobName = "4242", "e2e-llama"
	ranks := make([]*process, 2)
	for rank := range ranks {
		port := freePort(t)
		slurm := []string{
			"OTELCOL_GAUDI_TARGETS_DIR=" + targets, "SLURM_JOB_ID=" + jobID, "SLURM_JOB_NAME=" + jobName,
			fmt.Sprintf("SLURM_PROCID=%d", rank), fmt.Sprintf("SLURM_LOCALID=%d", rank), "SLURM_NTASKS=2",
			fmt.Sprintf("HABANA_VISIBLE_MODULES=%s,%s", moduleOf["0"], moduleOf["1"]),
			fmt.Sprintf("TRAINING_METRICS_PORT=%d", port),
		}
		if out := runTaskProlog(t, slurm); out != fmt.Sprintf("export TRAINING_METRICS_PORT=%d\n", port) {
			t.Fatalf("task prolog of rank %d printed %q, want the export of its port", rank, out)
		}
		args := []string{"examples/prometheus-client/train.py", "--step-interval", "0.1"}
		if rank == 1 {
			args = append(args, "--stall-after-steps", "40")
		}
		ranks[rank] = startProcessEnv(t, fmt.Sprintf("rank %d", rank), systemPython,
			[]string{fmt.Sprintf("RANK=%d", rank), fmt.Sprintf("LOCAL_RANK=%d", rank), "WORLD_SIZE=2", fmt.Sprintf("TRAINING_METRICS_PORT=%d", port)},
			args...)
	}

	// A rank of another Slurm job, registered by the prolog on the HPU with hpu_index 3 (while the ranks import
	// torch), whose process claims to be job 4242: the target's (the scheduler's) id must win, on its series
	// and on its HPU.
	const otherJob = "4343"
	claimer := httptest.NewServer(counterHandler(func() string { return `training_job_id="` + jobID + `"` }))
	t.Cleanup(claimer.Close)
	claimerPort := claimer.URL[strings.LastIndex(claimer.URL, ":")+1:]
	if out := runTaskProlog(t, []string{
		"OTELCOL_GAUDI_TARGETS_DIR=" + targets, "SLURM_JOB_ID=" + otherJob, "SLURM_JOB_NAME=e2e-other",
		"SLURM_PROCID=0", "SLURM_LOCALID=0", "SLURM_NTASKS=1", "HABANA_VISIBLE_MODULES=" + string(moduleOf["3"]),
		"TRAINING_METRICS_PORT=" + claimerPort,
	}); out != "export TRAINING_METRICS_PORT="+claimerPort+"\n" {
		t.Fatalf("task prolog of job %s printed %q, want the export of its port", otherJob, out)
	}

	// Prometheus evaluates the same rule on what it scrapes from the collector, and drops the collector's
	// ALERTS, which would carry the same labels (configs/prometheus/prometheus.yml does the same).
	rules, err := filepath.Abs(filepath.Join("testdata", "training-stalled-fast.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheusConfig(t, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: otelcol-gaudi
    static_configs:
      - targets: ["127.0.0.1:%d"]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: ALERTS|ALERTS_FOR_STATE
        action: drop
`, rules, promPort))

	// Each source must show rank 1 pending before firing, and never any other series.
	type seen struct{ pending, firing time.Time }
	collectorSeen, promSeen := &seen{}, &seen{}
	var collectorFiring model.Metric
	track := func(source string, s *seen, alerts []model.Metric) {
		for _, a := range alerts {
			if a["training_job_id"] != jobID || a["training_rank"] != "1" {
				t.Fatalf("%s: TrainingStalled for a series other than rank 1: %v", source, a)
			}
			switch a["alertstate"] {
			case "pending":
				if s.pending.IsZero() {
					s.pending = time.Now()
				}
			case "firing":
				if s.firing.IsZero() {
					s.firing = time.Now()
					if s.pending.IsZero() {
						t.Fatalf("%s: TrainingStalled fired for rank 1 without having been seen pending", source)
					}
					if source == "collector" {
						collectorFiring = a
					}
				}
			}
		}
	}
	start := time.Now()
	eventually(t, stallDeadline, func() (bool, string) {
		c.failIfExited(t)
		prom.failIfExited(t)
		for _, r := range ranks {
			r.failIfExited(t)
		}
		families, err := scrape(context.Background(), c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		track("collector", collectorSeen, alertsNamed(families["ALERTS"], "TrainingStalled"))
		v, err := queryVector(context.Background(), prom.url, `ALERTS{alertname="TrainingStalled"}`)
		if err != nil {
			return false, err.Error()
		}
		track("Prometheus", promSeen, alertsNamed(v, "TrainingStalled"))
		if collectorSeen.firing.IsZero() || promSeen.firing.IsZero() {
			return false, fmt.Sprintf("TrainingStalled for rank 1: collector %+v, Prometheus %+v", *collectorSeen, *promSeen)
		}
		return true, ""
	})
	t.Logf("TrainingStalled for rank 1 after %s: collector pending %s, firing %s; Prometheus pending %s, firing %s",
		time.Since(start).Round(time.Second), collectorSeen.pending.Sub(start).Round(time.Millisecond), collectorSeen.firing.Sub(start).Round(time.Millisecond),
		promSeen.pending.Sub(start).Round(time.Millisecond), promSeen.firing.Sub(start).Round(time.Millisecond))

	// The alert names the rank as an OTLP job's alert would: the target's labels became the contract's.
	want := model.LabelSet{"job": jobName, "instance": jobID + "/rank-1", "host_name": model.LabelValue(host),
		"training_rank": "1", "training_local_rank": "1", "training_world_size": "2", "hpu_module_id": moduleOf["1"], "severity": "critical"}
	for l, v := range want {
		if !strings.EqualFold(string(collectorFiring[l]), string(v)) {
			t.Errorf("collector's TrainingStalled: label %s = %q, want %q: %v", l, collectorFiring[l], v, collectorFiring)
		}
	}

	families, err := scrape(context.Background(), c.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("HPUs attributed to the ranks", func(t *testing.T) {
		byRank := map[model.LabelValue]model.LabelValue{}
		for _, s := range families["hpu_utilization_percent"] {
			if s.Metric["hpu_index"] == "" {
				t.Errorf("hpu_utilization_percent without hpu_index, not the gaudi receiver's: %v", s.Metric)
			}
			if s.Metric["training_job_id"] == jobID {
				byRank[s.Metric["training_rank"]] = s.Metric["hpu_index"]
			}
		}
		if byRank["0"] != "0" || byRank["1"] != "1" || len(byRank) != 2 {
			t.Errorf("hpu_index of each rank of job %s: %v, want rank 0 on 0 and rank 1 on 1", jobID, byRank)
		}
		v := query(t, prom.url, fmt.Sprintf(`count by (training_rank, hpu_index) (hpu_utilization_percent{training_job_id=%q})`, jobID))
		if len(v) != 2 {
			t.Errorf("Prometheus: %d (rank, device) pairs of job %s, want 2: %v", len(v), jobID, v)
		}
	})
	t.Run("original names on the contract", func(t *testing.T) {
		if len(families["batch_processing_time"]) > 0 {
			t.Errorf("batch_processing_time reached the exporter; it should be training_batch_duration_seconds: %v", families["batch_processing_time"])
		}
		for _, name := range []string{"training_batch_duration_seconds", "training_samples_total", "training_loss", "training_accuracy_ratio", "training_samples_throughput_per_second"} {
			n := 0
			for _, s := range families[name] {
				if s.Metric["training_job_id"] == jobID {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%s: %d series of job %s, want one per rank", name, n, jobID)
			}
		}
	})
	t.Run("identity from the process's own labels", func(t *testing.T) {
		var got []model.Metric
		for _, s := range families["training_samples_total"] {
			if s.Metric["training_job_id"] == selfJob {
				got = append(got, s.Metric)
			}
		}
		if len(got) != 1 {
			t.Fatalf("training_samples_total of the process labelled job %s: %v, want one series", selfJob, got)
		}
		want := model.LabelSet{"job": "training", "instance": model.LabelValue(selfAddr), "training_rank": "0",
			"hpu_module_id": selfModuleID, "host_name": model.LabelValue(host)}
		for l, v := range want {
			if got[0][l] != v {
				t.Errorf("training_samples_total of the process labelled job %s: %s = %q, want %q: %v", selfJob, l, got[0][l], v, got[0])
			}
		}
	})
	t.Run("the target's identity wins", func(t *testing.T) {
		var got []model.Metric
		for _, s := range families["training_samples_total"] {
			if s.Metric["instance"] == otherJob+"/rank-0" {
				got = append(got, s.Metric)
			}
		}
		if len(got) != 1 || got[0]["training_job_id"] != otherJob || got[0]["exported_training_job_id"] != jobID {
			t.Errorf("training_samples_total of job %s's rank, whose process claims job %s: %v, want one series with "+
				"training_job_id=%s, exported_training_job_id=%s", otherJob, jobID, got, otherJob, jobID)
		}
	})
	t.Run("HPUs attributed from the process's labels and the target's", func(t *testing.T) {
		want := map[model.LabelValue]model.LabelValue{"2": selfJob, "3": otherJob}
		got := map[model.LabelValue]model.LabelValue{}
		for _, s := range families["hpu_utilization_percent"] {
			if _, ok := want[s.Metric["hpu_index"]]; ok {
				got[s.Metric["hpu_index"]] = s.Metric["training_job_id"] + "/" + s.Metric["training_rank"]
			}
		}
		inProm := map[model.LabelValue]model.LabelValue{}
		for _, s := range query(t, prom.url, `count by (hpu_index, training_job_id, training_rank) (hpu_utilization_percent{hpu_index=~"2|3"})`) {
			inProm[s.Metric["hpu_index"]] = s.Metric["training_job_id"] + "/" + s.Metric["training_rank"]
		}
		for i, job := range want {
			if got[i] != job+"/0" || inProm[i] != job+"/0" {
				t.Errorf("hpu_utilization_percent{hpu_index=%q}: job/rank %q in the collector, %q in Prometheus; want %s/0", i, got[i], inProm[i], job)
			}
		}
	})
	t.Run("Training dashboard on the scraped job", func(t *testing.T) {
		trainingDashboardHasData(t, prom.url, jobID, "0", "1")
	})
	t.Run("static targets", func(t *testing.T) {
		var found bool
		for _, s := range families["training_samples_total"] {
			found = found || (s.Metric["instance"] == model.LabelValue(staticAddr) && s.Metric["job"] == "training")
		}
		if !found {
			t.Errorf("no training_samples_total{job=\"training\",instance=%q} from the static target", staticAddr)
		}
		if n := len(families["flood_series"]); n > 0 {
			t.Errorf("%d flood_series from a target over sample_limit reached the exporter", n)
		}
		up := map[model.LabelValue]model.SampleValue{}
		for _, s := range families["up"] {
			up[s.Metric["instance"]] = s.Value
		}
		if v, ok := up[model.LabelValue(floodAddr)]; !ok || v != 0 {
			t.Errorf("up of the flooding target: %v (present %v), want 0", v, ok)
		}
		if _, ok := up["666/rank-0"]; ok {
			t.Errorf("the off-node target %s written into the targets directory was scraped: %v", offNode, up)
		}
		if up[model.LabelValue(staticAddr)] != 1 || up[model.LabelValue(selfAddr)] != 1 || up[jobID+"/rank-0"] != 1 || up[otherJob+"/rank-0"] != 1 {
			t.Errorf("up of the other targets: %v, want 1", up)
		}
	})
}

// counterHandler serves a training_samples_total that grows at every scrape, with the labels labels()
// returns; while it returns "", it answers 503 as a process not yet serving.
func counterHandler(labels func() string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, _ *http.Request) {
		l := labels()
		if l == "" {
			http.Error(w, "not started", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "# TYPE training_samples_total counter\ntraining_samples_total{%s} %d\n", l, 32*n.Add(1))
	}
}

// noDataFromScrapedJobs are the metrics the Training dashboard reads that a job instrumented as the original
// design does cannot have; every panel reading one falls back to another metric (docs/training-metrics.md).
// The check requires these selectors to stay empty for such a job, so that the list cannot go stale.
var noDataFromScrapedJobs = map[string]string{
	"training_tokens_total": "the original design counts no tokens: Tokens per second adds training_tokens_throughput_per_second",
}

// trainingDashboardHasData runs every Prometheus query of the Training dashboard, as Grafana runs it, with the
// job variable at job and the rank variable at All and then at each of ranks (the rest at All), and requires
// data from each query and each vector selector in it, but for the selectors of noDataFromScrapedJobs. The
// job and rank variables must list job and ranks. The Loki panels are out of scope: a scraped job logs no OTLP.
func trainingDashboardHasData(t *testing.T, promURL, job string, ranks ...string) {
	t.Helper()
	boards, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(boards, func(b dashboards.Dashboard) bool { return b.File == "training-performance.json" })
	if i < 0 {
		t.Fatal("no training-performance.json among the dashboards")
	}
	b := boards[i]
	all := map[string]string{}
	for _, v := range b.Model.Templating.List {
		all[v.Name] = ".*"
	}
	type check struct {
		what, promql string
		noData       string // why the job cannot have data for this selector (noDataFromScrapedJobs)
	}
	var checks []check
	ctx := context.Background()
	for _, q := range b.Queries() {
		if q.Source != "variable" || (q.Panel != "job" && q.Panel != "rank") {
			continue
		}
		got, err := labelValues(ctx, promURL, dashboards.Expand(q.Expr, merged(all, map[string]string{"job": job})), q.Label)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if q.Panel == "job" && !slices.Contains(got, job) || q.Panel == "rank" && !slices.Equal(got, ranks) {
			t.Errorf("variable %s lists %v, want job %s and its ranks %v", q.Panel, got, job, ranks)
		}
	}
	for _, rank := range append([]string{".*"}, ranks...) {
		values := merged(all, map[string]string{"job": job, "rank": rank})
		for _, q := range b.Queries() {
			if q.Source == "variable" || q.Datasource != "prometheus" {
				continue
			}
			expr := dashboards.Expand(q.Expr, values)
			where := fmt.Sprintf("%s %q %s (rank %s)", q.Source, q.Panel, q.RefID, rank)
			checks = append(checks, check{what: where, promql: expr})
			selectors, err := vectorSelectors(expr)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			for _, s := range selectors {
				names, err := dashboards.MetricNames(s)
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				var why string
				if len(names) == 1 {
					why = noDataFromScrapedJobs[names[0]]
				}
				checks = append(checks, check{what: where + " selector", promql: s, noData: why})
			}
		}
	}
	var empties int
	pending := checks
	eventually(t, time.Minute, func() (bool, string) {
		var still []check
		for _, ch := range pending {
			series, err := queryRangeWindow(ctx, promURL, ch.promql, 5*time.Minute, 5*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", ch.what, err)
			}
			switch {
			case ch.noData != "" && len(series) > 0:
				t.Errorf("%s: %s has data for job %s, which noDataFromScrapedJobs says it cannot have: %s", ch.what, ch.promql, job, ch.noData)
			case ch.noData != "":
				empties++
			case len(series) == 0:
				still = append(still, ch)
			}
		}
		if pending = still; len(pending) > 0 {
			return false, fmt.Sprintf("%d of %d Training dashboard queries and selectors return no data for job %s, e.g. %s: %s",
				len(pending), len(checks), job, pending[0].what, pending[0].promql)
		}
		return true, ""
	})
	t.Logf("all %d Training dashboard queries and selectors return data for job %s (%d selectors of metrics it cannot have, empty as expected)",
		len(checks)-empties, job, empties)
}

// alertsNamed returns the metrics of the ALERTS samples of alertname.
func alertsNamed(samples model.Vector, alertname model.LabelValue) []model.Metric {
	var out []model.Metric
	for _, s := range samples {
		if s.Metric["alertname"] == alertname {
			out = append(out, s.Metric)
		}
	}
	return out
}

// runTaskProlog runs deploy/slurm/otelcol-gaudi-task-prolog.sh with env added to the test's and returns
// its stdout; it fails the test on a non-zero exit.
func runTaskProlog(t *testing.T, env []string) string {
	t.Helper()
	stdout, stderr, err := runSlurmScript(t, "otelcol-gaudi-task-prolog.sh", env)
	if err != nil {
		t.Fatalf("task prolog: %s\n%s", exitDescription(err), stderr)
	}
	return stdout
}

// runSlurmScript runs one of deploy/slurm's scripts with env added to the test's environment.
func runSlurmScript(t *testing.T, script string, env []string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "deploy", "slurm", script))
	cmd.Env = append(os.Environ(), env...)
	var outBuf, errBuf syncBuffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	err = cmd.Run()
	return outBuf.String(), errBuf.String(), err
}
