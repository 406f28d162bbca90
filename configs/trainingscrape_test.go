// Package configs holds no code: the collector configs in this folder are the product. Its tests tie the
// configs to the documents that describe them.
package configs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/doctable"
)

// identity is a scraped rank's identity as the prometheus receiver hands a sample to metric_relabel_configs:
// its target's labels (the task prolog's), and a conflicting training_job_id of the process's own, which
// honor_labels: false renamed.
var identity = map[string]string{
	"job": "llama3", "instance": "4242/rank-9", "training_job_id": "4242", "training_rank": "9",
	"training_local_rank": "1", "training_world_size": "16", "hpu_module_id": "5", "hpu_index": "4",
	"host_name": "gaudi-node-07", "exported_training_job_id": "666",
}

// TestScrapeNamesTable: every name of the table of docs/training-metrics.md that says what the original
// design's prometheus_client names become, and every original name of its contract table, run through the
// metric_relabel_configs of configs/training-scrape.yaml with Prometheus' relabelling, become what the tables
// say; and each kept series carries the identity under the contract's attribute names (docs/
// prometheus-client-jobs.md's identity table), with the process's conflicting label untouched. (The Kubernetes
// overlay in prometheus-client-jobs.md has the same relabelling: TestKubernetesExampleValidates in test/e2e.)
func TestScrapeNamesTable(t *testing.T) {
	cfgs := metricRelabelConfigs(t, "training-scrape.yaml")
	doc := readFile(t, "..", "docs", "training-metrics.md")
	attrs := identityAttributes(t)

	// run relabels one sample of name with the identity labels; "" if it is dropped.
	run := func(t *testing.T, name string) string {
		t.Helper()
		lb := labels.NewBuilder(labels.FromMap(identity)).Set(labels.MetricName, name)
		if !relabel.ProcessBuilder(lb, cfgs...) {
			return ""
		}
		got := lb.Labels()
		for label, attr := range attrs {
			if want := identity[label]; got.Get(attr) != want || attr != label && got.Has(label) {
				t.Errorf("%s: identity label %s=%q should become %s=%q: %v", name, label, want, attr, want, got)
			}
		}
		if v := got.Get("exported_training_job_id"); v != identity["exported_training_job_id"] {
			t.Errorf("%s: the process's own training_job_id, exported_training_job_id, became %q: %v", name, v, got)
		}
		return got.Get(labels.MetricName)
	}

	rows := table(t, doc, "scrape names table", []string{"Original name (prometheus_client)", "Type", "What it becomes", "Alert that reads it"})
	for _, r := range rows {
		originals, becomes := codeSpans(r[0]), r[2]
		t.Run(r[0], func(t *testing.T) {
			var want []string
			switch {
			case strings.HasPrefix(becomes, "**dropped**"):
				want = make([]string, len(originals))
			case strings.HasPrefix(becomes, "**unchanged**"):
				want = slices.Clone(originals)
			default:
				want = leadingCodeSpans(becomes)
				if len(originals) == 0 { // (none): a name a job may add under the contract's name
					originals = want
				}
			}
			if len(originals) == 0 || len(want) != len(originals) {
				t.Fatalf("%d original names %q, %d results %q in %q", len(originals), originals, len(want), want, becomes)
			}
			for i, name := range originals {
				// A wildcard stands for any name: one example of it.
				name = strings.ReplaceAll(name, "*", "example")
				if want[i] == originals[i] {
					want[i] = name
				}
				if got := run(t, name); got != want[i] {
					t.Errorf("%s becomes %q, the table says %q", name, got, want[i])
				}
			}
		})
	}

	// The contract table names the original of each contract metric and the contract's Prometheus name.
	for _, r := range table(t, doc, "metrics table", []string{"Original design", "OTel name", "Instrument", "Unit", "Prometheus name"}) {
		original, want := codeSpans(r[0]), codeSpans(r[4])
		if len(original) == 0 {
			continue // (none)
		}
		if got := run(t, original[0]); got != want[0] {
			t.Errorf("contract table: %s scraped becomes %q, the contract's Prometheus name is %q", original[0], got, want[0])
		}
	}
}

// metricRelabelConfigs loads the metric_relabel_configs of the prometheus/training receiver's one scrape
// config in a collector config file, as the receiver does: the collector turns $$ into $, then Prometheus'
// config loader applies its defaults and validation.
func metricRelabelConfigs(t *testing.T, path string) []*relabel.Config {
	t.Helper()
	var collector struct {
		Receivers map[string]struct {
			Config struct {
				ScrapeConfigs []struct {
					MetricRelabelConfigs yaml.Node `yaml:"metric_relabel_configs"`
				} `yaml:"scrape_configs"`
			} `yaml:"config"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, path)), &collector); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	scs := collector.Receivers["prometheus/training"].Config.ScrapeConfigs
	if len(scs) != 1 {
		t.Fatalf("%s: %d scrape configs in prometheus/training, want 1", path, len(scs))
	}
	raw, err := yaml.Marshal(map[string]any{"scrape_configs": []any{map[string]any{
		"job_name": "training", "metric_relabel_configs": &scs[0].MetricRelabelConfigs,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ReplaceAll(string(raw), "$$", ""), "${") {
		t.Fatalf("%s: metric_relabel_configs use a collector variable, which this test does not expand:\n%s", path, raw)
	}
	prom, err := config.Load(strings.ReplaceAll(string(raw), "$$", "$"), promslog.NewNopLogger())
	if err != nil {
		t.Fatalf("%s: Prometheus refuses the metric_relabel_configs: %v", path, err)
	}
	cfgs := prom.ScrapeConfigs[0].MetricRelabelConfigs
	if len(cfgs) == 0 {
		t.Fatalf("%s: no metric_relabel_configs", path)
	}
	return cfgs
}

// identityAttributes parses the identity table of docs/prometheus-client-jobs.md: label -> attribute. The
// receiver itself makes service.name of job, so metric relabelling leaves job as it is.
func identityAttributes(t *testing.T) map[string]string {
	t.Helper()
	doc := readFile(t, "..", "docs", "prometheus-client-jobs.md")
	out := map[string]string{}
	for _, r := range table(t, doc, "identity table", []string{"Target or process label", "Becomes", "Needed for"}) {
		from, to := codeSpans(r[0]), leadingCodeSpans(r[1])
		if len(from) != len(to) || len(from) == 0 {
			t.Fatalf("identity table: %q becomes %q", from, to)
		}
		for i := range from {
			if to[i] == "service.name" {
				to[i] = from[i]
			}
			out[from[i]] = to[i]
		}
	}
	for label := range out {
		if _, ok := identity[label]; !ok {
			t.Fatalf("identity table: %s is not among the test's labels %v", label, identity)
		}
	}
	return out
}

// table returns the rows of the marked table name of doc, or fails the test.
func table(t *testing.T, doc, name string, header []string) [][]string {
	t.Helper()
	rows, err := doctable.Read(doc, name, header)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// codeSpans returns the text of every `code` span of s.
func codeSpans(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// leadingCodeSpans returns the code spans at the start of s, separated by commas: "`a`, `b` (why)" gives a, b.
func leadingCodeSpans(s string) []string {
	prefix := regexp.MustCompile("^`[^`]+`(, `[^`]+`)*").FindString(s)
	return codeSpans(prefix)
}

func readFile(t *testing.T, path ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
