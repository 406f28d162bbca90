package e2e

import (
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestBackendConfigsCombine checks what docs/backends.md promises: the remote-write config (metrics)
// and the Loki config (logs) given together make one collector with both pipelines.
func TestBackendConfigsCombine(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := runCollectorCommand(t, "print-config",
		"--config", filepath.Join(repoRoot, "configs", "prometheus-remote-write.yaml"),
		"--config", filepath.Join(repoRoot, "configs", "loki.yaml"))
	if err != nil {
		t.Fatalf("print-config: %s\n%s", exitDescription(err), stderr)
	}
	var cfg struct {
		Service struct {
			Pipelines map[string]struct {
				Exporters []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &cfg); err != nil {
		t.Fatalf("parsing print-config's output: %v\n%s", err, stdout)
	}
	want := map[string]string{"metrics": "prometheus_remote_write", "logs": "otlp_http/loki"}
	if len(cfg.Service.Pipelines) != len(want) {
		t.Errorf("pipelines %v, want exactly %v", cfg.Service.Pipelines, want)
	}
	for pipeline, exporter := range want {
		if got := cfg.Service.Pipelines[pipeline].Exporters; len(got) != 1 || got[0] != exporter {
			t.Errorf("pipeline %s exports to %v, want [%s]", pipeline, got, exporter)
		}
	}
}
