package e2e

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// components is the part of `otelcol-gaudi components` output the test reads.
type components struct {
	BuildInfo struct {
		Command string `yaml:"command"`
		Version string `yaml:"version"`
	} `yaml:"buildinfo"`
	Receivers  []component `yaml:"receivers"`
	Processors []component `yaml:"processors"`
	Exporters  []component `yaml:"exporters"`
	Connectors []component `yaml:"connectors"`
	Extensions []component `yaml:"extensions"`
	Providers  []struct {
		Scheme string `yaml:"scheme"`
		Module string `yaml:"module"`
	} `yaml:"providers"`
}

type component struct {
	Name   string `yaml:"name"`
	Module string `yaml:"module"`
}

// wantComponent is a component that must be in the distribution, under any of names (several
// upstream components were renamed around v0.165, e.g. otlp -> otlp_grpc, and only the current
// name is listed) and, if module is set, from a Go module whose path contains it.
type wantComponent struct {
	names  []string
	module string
}

func TestComponentsListed(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := runCollectorCommand(t, "components")
	if err != nil {
		t.Fatalf("otelcol-gaudi components: %s\nstdout:\n%s\nstderr:\n%s", exitDescription(err), stdout, stderr)
	}
	var got components
	if err := yaml.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("parsing the output of otelcol-gaudi components as YAML: %v\n%s", err, stdout)
	}
	if got.BuildInfo.Command != "otelcol-gaudi" {
		t.Errorf("buildinfo.command = %q, want otelcol-gaudi", got.BuildInfo.Command)
	}

	check := func(kind string, listed []component, want []wantComponent) {
		t.Helper()
		for _, w := range want {
			i := slices.IndexFunc(listed, func(c component) bool { return slices.Contains(w.names, c.Name) })
			switch {
			case i < 0:
				t.Errorf("%s: none of %v listed; got %v", kind, w.names, names(listed))
			case w.module != "" && !strings.Contains(listed[i].Module, w.module):
				t.Errorf("%s %s: module %q, want one containing %q", kind, listed[i].Name, listed[i].Module, w.module)
			default:
				t.Logf("%s %s: %s", kind, listed[i].Name, listed[i].Module)
			}
		}
	}
	check("receiver", got.Receivers, []wantComponent{
		{names: []string{"gaudi"}},
		{names: []string{"otlp"}},
		{names: []string{"hostmetrics", "host_metrics"}},
		{names: []string{"filelog", "file_log"}},
		{names: []string{"kubeletstats", "kubelet_stats"}},
		{names: []string{"prometheus"}, module: "/receiver/prometheusreceiver "},
	})
	check("processor", got.Processors, []wantComponent{
		{names: []string{"batch"}},
		{names: []string{"memory_limiter"}},
		{names: []string{"groupbyattrs"}, module: "/processor/groupbyattrsprocessor "},
	})
	check("connector", got.Connectors, []wantComponent{
		{names: []string{"threshold"}},
		{names: []string{"forward"}, module: "/connector/forwardconnector "},
	})
	check("exporter", got.Exporters, []wantComponent{
		{names: []string{"debug"}},
		{names: []string{"otlp", "otlp_grpc"}, module: "/exporter/otlpexporter "},
		{names: []string{"otlphttp", "otlp_http"}, module: "/exporter/otlphttpexporter "},
		{names: []string{"prometheus"}},
		{names: []string{"prometheus_remote_write", "prometheusremotewrite"}},
	})
	check("extension", got.Extensions, []wantComponent{
		{names: []string{"health_check"}},
		{names: []string{"file_storage"}},
		{names: []string{"pprof"}},
		{names: []string{"zpages"}},
		{names: []string{"bearertokenauth"}},
		{names: []string{"basicauth"}},
	})

	var schemes []string
	for _, p := range got.Providers {
		schemes = append(schemes, p.Scheme)
	}
	for _, want := range []string{"env", "file", "yaml"} {
		if !slices.Contains(schemes, want) {
			t.Errorf("provider %q not listed; got %v", want, schemes)
		}
	}
}

func names(cs []component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
