package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// The alerting configuration under test: configs/prometheus/.
var (
	promConfigDir          = filepath.Join("configs", "prometheus")
	shippedPrometheusYML   = filepath.Join(promConfigDir, "prometheus.yml")
	shippedAlertmanagerYML = filepath.Join(promConfigDir, "alertmanager.yml")
)

// receiverBySeverity is the routing configs/prometheus/alertmanager.yml promises: critical alerts page,
// warnings go to chat or a ticket, and so does anything without a known severity.
var receiverBySeverity = map[string]string{"critical": "pager", "warning": "ticket", "": "ticket"}

// prometheusConfig is the part of a Prometheus configuration these tests check.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		HonorLabels   *bool  `yaml:"honor_labels"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// readPrometheusConfig parses the Prometheus configuration at path (relative to the repository root).
func readPrometheusConfig(t *testing.T, path string) prometheusConfig {
	t.Helper()
	var cfg prometheusConfig
	readYAML(t, path, &cfg)
	return cfg
}

// readYAML parses the YAML file at path (relative to the repository root) into v.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
}

// jobTargets returns the static targets of every scrape job, by job name.
func (c prometheusConfig) jobTargets() map[string][]string {
	out := map[string][]string{}
	for _, sc := range c.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			out[sc.JobName] = append(out[sc.JobName], s.Targets...)
		}
	}
	return out
}

// alertmanagerTargets returns the static targets of every Alertmanager.
func (c prometheusConfig) alertmanagerTargets() []string {
	var out []string
	for _, am := range c.Alerting.Alertmanagers {
		for _, s := range am.StaticConfigs {
			out = append(out, s.Targets...)
		}
	}
	return out
}

// ruleFiles expands the rule_files globs of the Prometheus configuration at configPath (relative to
// the repository root), relative to that file's directory as Prometheus does, into absolute paths.
func (c prometheusConfig) ruleFiles(t *testing.T, configPath string) []string {
	t.Helper()
	if len(c.RuleFiles) == 0 {
		t.Fatalf("%s loads no rule_files", configPath)
	}
	var files []string
	for _, pattern := range c.RuleFiles {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(repoRoot, filepath.Dir(configPath), pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil || len(matches) == 0 {
			t.Fatalf("%s: rule_files pattern %s matches no file (%v)", configPath, pattern, err)
		}
		files = append(files, matches...)
	}
	slices.Sort(files)
	return files
}

// collectorEndpoints is the part of a collector's effective configuration (print-config) that other
// components connect to.
type collectorEndpoints struct {
	Extensions struct {
		HealthCheck struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"health_check"`
		HPUHealth struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"hpu_health"`
	} `yaml:"extensions"`
	Receivers struct {
		OTLP struct {
			Protocols struct {
				GRPC struct {
					Endpoint string `yaml:"endpoint"`
				} `yaml:"grpc"`
				HTTP struct {
					Endpoint string `yaml:"endpoint"`
				} `yaml:"http"`
			} `yaml:"protocols"`
		} `yaml:"otlp"`
	} `yaml:"receivers"`
	Connectors struct {
		Threshold struct {
			RuleFiles          []string `yaml:"rule_files"`
			EvaluationInterval string   `yaml:"evaluation_interval"`
		} `yaml:"threshold"`
	} `yaml:"connectors"`
	Exporters struct {
		Prometheus struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"prometheus"`
	} `yaml:"exporters"`
	Service struct {
		Telemetry struct {
			Metrics struct {
				Readers []struct {
					Pull struct {
						Exporter struct {
							Prometheus struct {
								Host string `yaml:"host"`
								Port int    `yaml:"port"`
							} `yaml:"prometheus"`
						} `yaml:"exporter"`
					} `yaml:"pull"`
				} `yaml:"readers"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
	} `yaml:"service"`
}

// telemetryEndpoint returns host:port of the collector's pull telemetry reader; the configs have one.
func (c collectorEndpoints) telemetryEndpoint(t *testing.T) string {
	t.Helper()
	readers := c.Service.Telemetry.Metrics.Readers
	if len(readers) != 1 || readers[0].Pull.Exporter.Prometheus.Port == 0 {
		t.Fatalf("service::telemetry::metrics::readers: want one pull reader with a prometheus exporter, got %+v", readers)
	}
	p := readers[0].Pull.Exporter.Prometheus
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
}

// collectorPrintConfig returns the output of `otelcol-gaudi print-config` for configs (paths relative
// to the repository root, merged in order): the configuration the collector would run, as YAML.
func collectorPrintConfig(t *testing.T, configs ...string) []byte {
	t.Helper()
	var args []string
	for _, c := range configs {
		args = append(args, "--config", filepath.Join(repoRoot, c))
	}
	stdout, stderr, err := runCollectorCommand(t, append([]string{"print-config"}, args...)...)
	if err != nil {
		t.Fatalf("otelcol-gaudi print-config %v: %s\n%s", configs, exitDescription(err), stderr)
	}
	return []byte(stdout)
}

// effectiveCollectorConfig returns the endpoints, rules and telemetry of the collector on configs
// (collectorPrintConfig).
func effectiveCollectorConfig(t *testing.T, configs ...string) collectorEndpoints {
	t.Helper()
	var cfg collectorEndpoints
	if err := yaml.Unmarshal(collectorPrintConfig(t, configs...), &cfg); err != nil {
		t.Fatalf("parsing print-config's output: %v", err)
	}
	return cfg
}

// mustLookPath returns the path of the first of names found on PATH, and fails the test, saying what
// to install, when there is none.
func mustLookPath(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if path, err := exec.LookPath(n); err == nil {
			return path
		}
	}
	t.Fatalf("none of %s is on PATH; this test needs the real one: apt-get install -y %s (`make test-deps` does)",
		strings.Join(names, ", "), pkg)
	return ""
}

// runTool runs bin with args in the repository root and returns its combined output.
func runTool(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPrometheusConfigIsValid(t *testing.T) {
	t.Parallel()
	promtool := mustLookPath(t, "prometheus", "promtool")
	out, err := runTool(t, promtool, "check", "config", shippedPrometheusYML)
	if err != nil {
		t.Fatalf("promtool check config %s: %v\n%s", shippedPrometheusYML, err, out)
	}
	// promtool also checks every rule file the config loads.
	rules := readPrometheusConfig(t, shippedPrometheusYML).ruleFiles(t, shippedPrometheusYML)
	if want := fmt.Sprintf("SUCCESS: %d rule files found", len(rules)); !strings.Contains(out, want) {
		t.Errorf("promtool check config: no %q in its output:\n%s", want, out)
	}
	t.Log(out)
}

// TestPrometheusAndCollectorLoadTheSameRules checks that the rules have one source of truth: the files
// configs/prometheus/prometheus.yml loads are exactly those the threshold connector of configs/demo.yaml
// loads, so alerting in Prometheus and alerting in the collector alert alike.
func TestPrometheusAndCollectorLoadTheSameRules(t *testing.T) {
	t.Parallel()
	promFiles := readPrometheusConfig(t, shippedPrometheusYML).ruleFiles(t, shippedPrometheusYML)

	var collectorFiles []string
	for _, f := range effectiveCollectorConfig(t, filepath.Join("configs", "demo.yaml")).Connectors.Threshold.RuleFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(repoRoot, f) // the collector runs in the repository root
		}
		collectorFiles = append(collectorFiles, filepath.Clean(f))
	}
	slices.Sort(collectorFiles)
	if !slices.Equal(promFiles, collectorFiles) {
		t.Errorf("Prometheus (%s) loads %v,\nthe threshold connector (configs/demo.yaml) loads %v: they must be the same files",
			shippedPrometheusYML, promFiles, collectorFiles)
	}
}

// TestPrometheusConfigScrapesTheDemoCollector checks the shipped Prometheus config against the demo
// collector it is written for: the scrape targets are the collector's exporter and telemetry endpoints,
// Prometheus evaluates at the threshold connector's cadence, and the scrapes keep the scrape's own job
// and instance (honor_labels false; docs/backends.md).
func TestPrometheusConfigScrapesTheDemoCollector(t *testing.T) {
	t.Parallel()
	prom := readPrometheusConfig(t, shippedPrometheusYML)
	demo := effectiveCollectorConfig(t, filepath.Join("configs", "demo.yaml"))

	want := map[string][]string{
		"otelcol-gaudi":           {demo.Exporters.Prometheus.Endpoint},
		"otelcol-gaudi-telemetry": {demo.telemetryEndpoint(t)},
	}
	if got := prom.jobTargets(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scrape jobs and targets %v, want %v (configs/demo.yaml's prometheus exporter and telemetry)", got, want)
	}
	for _, sc := range prom.ScrapeConfigs {
		if sc.HonorLabels == nil || *sc.HonorLabels {
			t.Errorf("job %s: honor_labels must be set to false", sc.JobName)
		}
	}

	promEval, err := model.ParseDuration(prom.Global.EvaluationInterval)
	if err != nil {
		t.Fatalf("global.evaluation_interval %q: %v", prom.Global.EvaluationInterval, err)
	}
	collectorEval, err := time.ParseDuration(demo.Connectors.Threshold.EvaluationInterval)
	if err != nil {
		t.Fatalf("connectors::threshold::evaluation_interval %q: %v", demo.Connectors.Threshold.EvaluationInterval, err)
	}
	if time.Duration(promEval) != collectorEval {
		t.Errorf("Prometheus evaluates every %s, the threshold connector every %s: want the same cadence", promEval, collectorEval)
	}
	if prom.Global.ScrapeInterval != "15s" {
		t.Errorf("global.scrape_interval = %q, want 15s", prom.Global.ScrapeInterval)
	}
}

func TestAlertmanagerConfigIsValid(t *testing.T) {
	t.Parallel()
	amtool := mustLookPath(t, "prometheus-alertmanager", "amtool")
	out, err := runTool(t, amtool, "check-config", shippedAlertmanagerYML)
	if err != nil {
		t.Fatalf("amtool check-config %s: %v\n%s", shippedAlertmanagerYML, err, out)
	}
	t.Log(out)
}

// alertRule is one alerting rule of a rule file.
type alertRule struct {
	Alert  string            `yaml:"alert"`
	Labels map[string]string `yaml:"labels"`
}

// shippedAlertRules returns every alerting rule of configs/prometheus/rules/*.rules.yaml.
func shippedAlertRules(t *testing.T) []alertRule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, promConfigDir, "rules", "*.rules.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in %s/rules (%v)", promConfigDir, err)
	}
	var rules []alertRule
	for _, f := range files {
		var file struct {
			Groups []struct {
				Rules []alertRule `yaml:"rules"`
			} `yaml:"groups"`
		}
		rel, _ := filepath.Rel(repoRoot, f)
		readYAML(t, rel, &file)
		for _, g := range file.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					rules = append(rules, r)
				}
			}
		}
	}
	return rules
}

// TestAlertmanagerRoutesBySeverity asks amtool where Alertmanager sends each shipped alert, with its
// rule's labels: critical ones page, warnings go to chat or a ticket, and an alert without severity is
// not lost.
func TestAlertmanagerRoutesBySeverity(t *testing.T) {
	t.Parallel()
	amtool := mustLookPath(t, "prometheus-alertmanager", "amtool")
	rules := append(shippedAlertRules(t), alertRule{Alert: "SomeAlertWithoutSeverity"})
	for _, r := range rules {
		want, ok := receiverBySeverity[r.Labels["severity"]]
		if !ok {
			t.Errorf("alert %s has severity %q, which %s does not route", r.Alert, r.Labels["severity"], shippedAlertmanagerYML)
			continue
		}
		args := []string{"config", "routes", "test", "--config.file=" + shippedAlertmanagerYML,
			"alertname=" + r.Alert, "instance=gaudi-node-01", "hpu_index=3"}
		for k, v := range r.Labels {
			args = append(args, k+"="+v)
		}
		cmd := exec.Command(amtool, args...)
		cmd.Dir = repoRoot
		out, err := cmd.Output() // stderr: amtool's notes on its own flags
		if err != nil {
			t.Errorf("amtool %s: %v", strings.Join(args, " "), err)
			continue
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("alert %s (severity %q) goes to receiver %q, want %q", r.Alert, r.Labels["severity"], got, want)
		}
	}
}
