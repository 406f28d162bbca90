//go:build linux

package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.yaml.in/yaml/v3"
)

const (
	// scrapeRanks is the number of job targets: 8 nodes' worth of ranks on one collector, or one big node.
	scrapeRanks = 64
	// syntheticPerTarget are the series the prometheus receiver adds to each scrape: up,
	// scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added.
	syntheticPerTarget = 5
)

// rankSeries is what examples/prometheus-client/train.py serves (prometheus_client 0.16's default collectors
// and the original design's metrics), in the order it serves them; the value of each is computed per scrape.
var rankSeries = []struct {
	name, labels, typ string
	counter           bool
}{
	{"python_gc_objects_collected_total", `generation="0"`, "counter", true},
	{"python_gc_objects_collected_total", `generation="1"`, "counter", true},
	{"python_gc_objects_collected_total", `generation="2"`, "counter", true},
	{"python_gc_objects_uncollectable_total", `generation="0"`, "counter", true},
	{"python_gc_objects_uncollectable_total", `generation="1"`, "counter", true},
	{"python_gc_objects_uncollectable_total", `generation="2"`, "counter", true},
	{"python_gc_collections_total", `generation="0"`, "counter", true},
	{"python_gc_collections_total", `generation="1"`, "counter", true},
	{"python_gc_collections_total", `generation="2"`, "counter", true},
	{"python_info", `implementation="CPython",major="3",minor="11",patchlevel="2",version="3.11.2"`, "gauge", false},
	{"process_virtual_memory_bytes", "", "gauge", false},
	{"process_resident_memory_bytes", "", "gauge", false},
	{"process_start_time_seconds", "", "gauge", false},
	{"process_cpu_seconds_total", "", "counter", true},
	{"process_open_fds", "", "gauge", false},
	{"process_max_fds", "", "gauge", false},
	{"hpu_utilization_percent", "", "gauge", false}, // dropped at scrape
	{"training_samples_total", "", "counter", true},
	{"training_samples_per_second", "", "gauge", false},
	{"training_tokens_per_second", "", "gauge", false},
	{"training_loss", "", "gauge", false},
	{"training_accuracy", "", "gauge", false},
	{"validation_loss", "", "gauge", false},
	{"validation_accuracy", "", "gauge", false},
	{"batch_processing_time", "", "gauge", false},
	{"model_forward_time", "", "gauge", false},
	{"backward_pass_time", "", "gauge", false},
	{"optimizer_step_time", "", "gauge", false},
	{"cpu_utilization_percent", "", "gauge", false},
	{"memory_usage_bytes", "", "gauge", false},
}

// jobPointsPerRank are the points of one rank that reach the pipeline either way: all but the dropped hpu_ gauge.
var jobPointsPerRank = len(rankSeries) - 1

// BenchmarkScrapeIngest takes in the series of 64 prometheus_client ranks in one collector process per arm,
// one after the other: scraped from 64 HTTP targets through configs/training-scrape.yaml's path (with and
// without its groupbyattrs step), and the same series sent over OTLP, one export per rank per interval, as
// 64 SDKs would. One iteration is one round: every rank's series once. It reports the collector's CPU per
// million of the ranks' points (the scrape's own up and scrape_* series are extra cost, not counted as
// points), the share of a core it used, and its resident memory at the end.
func BenchmarkScrapeIngest(b *testing.B) {
	ours := oursBinary(b)
	checkScrapeConfigMatchesShipped(b)
	interval := 1 * time.Second
	if v := os.Getenv("BENCH_SCRAPE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BENCH_SCRAPE_INTERVAL: %v", err)
		}
		interval = d
	}
	targets := startRankTargets(b)
	arms := []struct {
		name, processors string
		scrape           bool
	}{
		{"otlp", "[groupbyattrs/training]", false},
		{"scrape", "[groupbyattrs/training]", true},
		{"scrape-without-groupbyattrs", "[]", true},
	}
	for _, arm := range arms {
		file := filepath.Join(b.TempDir(), "targets.json")
		groups := []byte("[]")
		if arm.scrape {
			groups = targets.fileSD(b)
		}
		if err := os.WriteFile(file, groups, 0o644); err != nil {
			b.Fatal(err)
		}
		col := startCollectorEnv(b, ours, []string{"BENCH_TARGETS_FILE=" + file,
			"BENCH_SCRAPE_INTERVAL=" + interval.String(), "BENCH_SCRAPE_PROCESSORS=" + arm.processors}, "scrape-pipeline.yaml")
		b.Run(arm.name, func(b *testing.B) {
			perRound := scrapeRanks * jobPointsPerRank
			next := func() error { return col.exportRanks(interval) }
			if arm.scrape {
				perRound = scrapeRanks * (jobPointsPerRank + syntheticPerTarget)
				next = nil // the receiver scrapes on its own
			}
			benchRounds(b, col, perRound, next)
		})
		col.stop(b)
		if arm.scrape && strings.Contains(col.logTail(), "Failed to scrape") {
			b.Errorf("%s: scrapes failed:\n%s", arm.name, col.logTail())
		}
	}
}

// benchRounds waits for warm-up rounds, then for b.N rounds of perRound points at the exporter; next, when
// set, sends a round itself.
func benchRounds(b *testing.B, col *collector, perRound int, next func() error) {
	round := func(sent0, k int) {
		if next != nil {
			if err := next(); err != nil {
				b.Fatalf("%v\n%s", err, col.logTail())
			}
		}
		if err := col.waitExported(sent0 + k*perRound); err != nil {
			b.Fatalf("%v\n%s", err, col.logTail())
		}
	}
	sent0, err := col.exported()
	if err != nil {
		b.Fatal(err)
	}
	// Two rounds create the series in the receiver, the processors and the exporter.
	for k := 1; k <= 2; k++ {
		round(sent0, k)
	}
	sent0, err = col.exported()
	if err != nil {
		b.Fatal(err)
	}
	cpu0, err := col.cpu()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		n++
		round(sent0, n)
	}
	elapsed := time.Since(start)
	cpu1, err := col.cpu()
	if err != nil {
		b.Fatal(err)
	}
	points := n * scrapeRanks * jobPointsPerRank
	b.ReportMetric((cpu1-cpu0).Seconds()/float64(points)*1e6, "cpu-s/Mpoints")
	b.ReportMetric(100*(cpu1-cpu0).Seconds()/elapsed.Seconds(), "%cpu")
	b.ReportMetric(col.rssMB(b), "MB-rss")
}

// rankTargets are 64 HTTP endpoints serving a prometheus_client rank's exposition each.
type rankTargets struct {
	addrs []string
}

func startRankTargets(b *testing.B) *rankTargets {
	t := &rankTargets{}
	for range scrapeRanks {
		var scrapes atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := scrapes.Add(1)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			var body bytes.Buffer
			for i, s := range rankSeries {
				if i == 0 || rankSeries[i-1].name != s.name {
					fmt.Fprintf(&body, "# HELP %s %s\n# TYPE %s %s\n", s.name, s.name, s.name, s.typ)
				}
				v := 0.5 + float64(i)
				if s.counter {
					v = float64(32 * n * int64(i+1))
				}
				if s.labels != "" {
					fmt.Fprintf(&body, "%s{%s} %g\n", s.name, s.labels, v)
				} else {
					fmt.Fprintf(&body, "%s %g\n", s.name, v)
				}
			}
			_, _ = w.Write(body.Bytes())
		}))
		b.Cleanup(srv.Close)
		t.addrs = append(t.addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	return t
}

// fileSD is what the Slurm task prologs of 8 nodes × 8 ranks would write: one target per rank with its identity.
func (t *rankTargets) fileSD(b *testing.B) []byte {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := make([]group, len(t.addrs))
	for r, addr := range t.addrs {
		groups[r] = group{Targets: []string{addr}, Labels: map[string]string{
			"job": "bench-llm", "training_job_id": "bench-job", "training_rank": strconv.Itoa(r),
			"training_local_rank": strconv.Itoa(r % 8), "training_world_size": strconv.Itoa(scrapeRanks),
			"hpu_module_id": strconv.Itoa(r % 8), "host_name": "bench-node",
		}}
	}
	raw, err := json.Marshal(groups)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// exportRanks sends one round over OTLP: per rank one export of the same series the scrape delivers (the
// original names renamed, the hpu_ gauge dropped), on the resource the scrape path builds, from 4 senders;
// then it waits out the interval.
func (c *collector) exportRanks(interval time.Duration) error {
	start := time.Now()
	if c.ranks == nil {
		for r := range scrapeRanks {
			c.ranks = append(c.ranks, rankOTLP(r))
		}
	}
	c.rounds++
	ts := pcommon.NewTimestampFromTime(time.Now())
	var wg sync.WaitGroup
	errs := make(chan error, scrapeRanks)
	for s := range senders {
		wg.Go(func() {
			for r := s; r < scrapeRanks; r += senders {
				md := c.ranks[r]
				restampRank(md, ts, c.rounds)
				if err := c.export(md); err != nil {
					errs <- fmt.Errorf("rank %d: %w", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if wait := interval - time.Since(start); wait > 0 {
		time.Sleep(wait) // pacing the load, not synchronising: the exporter count is what the caller waits for
	}
	return nil
}

// rankOTLP is rank r's series as the scrape path hands them to the node pipeline.
func rankOTLP(r int) pmetric.Metrics {
	rename := map[string]string{
		"batch_processing_time": "training_batch_duration_seconds", "model_forward_time": "training_forward_duration_seconds",
		"backward_pass_time": "training_backward_duration_seconds", "optimizer_step_time": "training_optimizer_step_duration_seconds",
		"training_accuracy": "training_accuracy_ratio", "validation_accuracy": "validation_accuracy_ratio",
		"training_samples_per_second": "training_samples_throughput_per_second", "training_tokens_per_second": "training_tokens_throughput_per_second",
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	attrs := rm.Resource().Attributes()
	attrs.PutStr("service.name", "bench-llm")
	attrs.PutStr("service.instance.id", fmt.Sprintf("bench-job/rank-%d", r))
	attrs.PutStr("training.job.id", "bench-job")
	attrs.PutStr("training.rank", strconv.Itoa(r))
	attrs.PutStr("training.local_rank", strconv.Itoa(r%8))
	attrs.PutStr("training.world_size", strconv.Itoa(scrapeRanks))
	attrs.PutStr("hpu.module.id", strconv.Itoa(r%8))
	attrs.PutStr("host.name", "bench-node")
	ms := rm.ScopeMetrics().AppendEmpty()
	ms.Scope().SetName("bench")
	var m pmetric.Metric
	for i, s := range rankSeries {
		if strings.HasPrefix(s.name, "hpu_") {
			continue
		}
		name := s.name
		if to, ok := rename[name]; ok {
			name = to
		}
		if i == 0 || rankSeries[i-1].name != s.name {
			m = ms.Metrics().AppendEmpty()
			m.SetName(name)
			if s.counter {
				m.SetEmptySum().SetIsMonotonic(true)
				m.Sum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			} else {
				m.SetEmptyGauge()
			}
		}
		var dp pmetric.NumberDataPoint
		if s.counter {
			dp = m.Sum().DataPoints().AppendEmpty()
		} else {
			dp = m.Gauge().DataPoints().AppendEmpty()
		}
		dp.SetDoubleValue(0.5 + float64(i))
		if s.labels != "" {
			for kv := range strings.SplitSeq(s.labels, ",") {
				k, v, _ := strings.Cut(kv, "=")
				dp.Attributes().PutStr(k, strings.Trim(v, `"`))
			}
		}
	}
	return md
}

// restampRank dates every point of md at ts and moves the counters on, as the next round would.
func restampRank(md pmetric.Metrics, ts pcommon.Timestamp, round int) {
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for j := range ms.Len() {
		m := ms.At(j)
		if m.Type() == pmetric.MetricTypeSum {
			dps := m.Sum().DataPoints()
			for k := range dps.Len() {
				dps.At(k).SetTimestamp(ts)
				dps.At(k).SetDoubleValue(float64(32 * round * (k + 1)))
			}
			continue
		}
		dps := m.Gauge().DataPoints()
		for k := range dps.Len() {
			dps.At(k).SetTimestamp(ts)
		}
	}
}

// rssMB is the collector's resident memory now, from /proc/<pid>/status.
func (c *collector) rssMB(b *testing.B) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("collector memory: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatalf("collector memory: %q: %v", line, err)
			}
			return kb / 1024
		}
	}
	b.Fatal("collector memory: no VmRSS")
	return 0
}

// checkScrapeConfigMatchesShipped fails the benchmark when scrape-pipeline.yaml's metric relabelling has
// drifted from configs/training-scrape.yaml's, which it stands for.
func checkScrapeConfigMatchesShipped(b *testing.B) {
	relabelling := func(path string) any {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var cfg struct {
			Receivers map[string]struct {
				Config struct {
					ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
				} `yaml:"config"`
			} `yaml:"receivers"`
		}
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		return cfg.Receivers["prometheus/training"].Config.ScrapeConfigs[0]["metric_relabel_configs"]
	}
	if !reflect.DeepEqual(relabelling("scrape-pipeline.yaml"), relabelling(filepath.Join("..", "configs", "training-scrape.yaml"))) {
		b.Fatal("bench/scrape-pipeline.yaml's metric_relabel_configs differ from configs/training-scrape.yaml's")
	}
}
