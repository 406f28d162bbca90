package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"go.yaml.in/yaml/v3"
)

// kubernetesExample is the overlay between the markers of docs/prometheus-client-jobs.md.
var kubernetesExample = regexp.MustCompile("(?s)<!-- BEGIN kubernetes example[^>]*-->\n```yaml\n(.*?)```\n<!-- END kubernetes example -->")

// TestKubernetesExampleValidates: the documented Kubernetes pod-discovery overlay, given after
// configs/training-scrape.yaml as the docs say, is a valid collector config, and its metric relabelling is
// the shipped config's, so a scraped pod's series are named and identified as a Slurm task's.
func TestKubernetesExampleValidates(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "prometheus-client-jobs.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := kubernetesExample.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/prometheus-client-jobs.md has no YAML block between the kubernetes example markers")
	}
	overlay := filepath.Join(t.TempDir(), "training-scrape-kubernetes.yaml")
	if err := os.WriteFile(overlay, m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	shipped := filepath.Join(repoRoot, "configs", "training-scrape.yaml")
	env := []string{"K8S_NODE_NAME=gaudi-node-07"}
	if stdout, stderr, err := runCollectorCommandEnv(t, env, "validate", "--config", shipped, "--config", overlay); err != nil {
		t.Fatalf("validate --config configs/training-scrape.yaml --config <the docs' overlay>: %s\n%s%s", exitDescription(err), stdout, stderr)
	}

	relabelling := func(path string) any {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Receivers map[string]struct {
				Config struct {
					ScrapeConfigs []struct {
						MetricRelabelConfigs any `yaml:"metric_relabel_configs"`
					} `yaml:"scrape_configs"`
				} `yaml:"config"`
			} `yaml:"receivers"`
		}
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		scs := cfg.Receivers["prometheus/training"].Config.ScrapeConfigs
		if len(scs) != 1 {
			t.Fatalf("%s: %d scrape configs in prometheus/training, want 1", path, len(scs))
		}
		return scs[0].MetricRelabelConfigs
	}
	if a, b := relabelling(shipped), relabelling(overlay); !reflect.DeepEqual(a, b) {
		t.Errorf("the docs' Kubernetes example relabels metrics differently from configs/training-scrape.yaml:\n%v\n%v", b, a)
	}
}
