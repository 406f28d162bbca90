package dashboards

import (
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Grafana's provisioning: the data sources the dashboards' variables default to, and the file provider that
// reads the folder deploy/compose.yaml mounts these files at.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string `yaml:"name"`
			UID       string `yaml:"uid"`
			Type      string `yaml:"type"`
			URL       string `yaml:"url"`
			IsDefault bool   `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources/datasources.yaml", &ds)
	want := map[string]struct {
		typ, url  string
		isDefault bool
	}{
		"prometheus": {"prometheus", "http://prometheus:9090", true},
		"loki":       {"loki", "http://loki:3100", false},
	}
	if ds.APIVersion != 1 {
		t.Errorf("datasources.yaml: apiVersion %d, want 1", ds.APIVersion)
	}
	for _, d := range ds.Datasources {
		w, ok := want[d.UID]
		if !ok {
			continue
		}
		delete(want, d.UID)
		if d.Type != w.typ || d.URL != w.url || d.IsDefault != w.isDefault {
			t.Errorf("data source %s: type %s, url %s, default %v; want %s, %s, %v", d.UID, d.Type, d.URL, d.IsDefault, w.typ, w.url, w.isDefault)
		}
	}
	for uid := range want {
		t.Errorf("datasources.yaml has no data source with uid %s", uid)
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Folder  string `yaml:"folder"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/dashboards.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 {
		t.Fatalf("dashboards.yaml: apiVersion %d with %d providers, want 1 with 1", dp.APIVersion, len(dp.Providers))
	}
	if p := dp.Providers[0]; p.Type != "file" || p.Folder != "otelcol-gaudi" || p.Options.Path != "/var/lib/grafana/dashboards" {
		t.Errorf("dashboard provider %+v, want type file, folder otelcol-gaudi, path /var/lib/grafana/dashboards", p)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
