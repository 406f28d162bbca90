package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidationErrors(t *testing.T) {
	const header = "type: t\nscope_name: example.com/t\nstatus: {class: receiver, stability: {alpha: [metrics]}}\n"
	const intAttr = "attributes:\n  a.i: {description: d, type: int}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{
			name: "unknown value_type",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, unit: '1', gauge: {value_type: float}}\n",
			want: `metric "m.bad": unknown value_type "float" (want int or double)`,
		},
		{
			name: "attribute not declared",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, unit: '1', gauge: {value_type: int}, attributes: [a.nope]}\n",
			want: `metric "m.bad": attribute "a.nope" is not declared under attributes`,
		},
		{
			name: "attribute listed twice",
			yaml: intAttr + "metrics:\n  m.bad: {enabled: true, description: d, unit: '1', gauge: {value_type: int}, attributes: [a.i, a.i]}\n",
			want: `metric "m.bad": attribute "a.i" is listed twice`,
		},
		{
			name: "enum with no values",
			yaml: "attributes:\n  a.e: {description: d, type: string, enum: []}\n" +
				"metrics:\n  m.ok: {enabled: true, description: d, unit: '1', gauge: {value_type: int}, attributes: [a.e]}\n",
			want: `attribute "a.e": enum has no values`,
		},
		{
			name: "enum on an int",
			yaml: "attributes:\n  a.e: {description: d, type: int, enum: [x]}\n" +
				"metrics:\n  m.ok: {enabled: true, description: d, unit: '1', gauge: {value_type: int}, attributes: [a.e]}\n",
			want: `attribute "a.e": enum needs type string`,
		},
		{
			name: "unused attribute",
			yaml: intAttr + "metrics:\n  m.ok: {enabled: true, description: d, unit: '1', gauge: {value_type: int}}\n",
			want: `attribute "a.i" is declared but no metric uses it`,
		},
		{
			name: "missing unit",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, gauge: {value_type: int}}\n",
			want: `metric "m.bad": unit is missing`,
		},
		{
			name: "missing enabled",
			yaml: "metrics:\n  m.bad: {description: d, unit: '1', gauge: {value_type: int}}\n",
			want: `metric "m.bad": enabled is missing`,
		},
		{
			name: "both gauge and sum",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, unit: '1', gauge: {value_type: int}, sum: {value_type: int, aggregation_temporality: cumulative}}\n",
			want: `metric "m.bad": has both gauge and sum; declare exactly one`,
		},
		{
			name: "neither gauge nor sum",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, unit: '1'}\n",
			want: `metric "m.bad": has neither gauge nor sum`,
		},
		{
			name: "unknown temporality",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, unit: '1', sum: {value_type: int, aggregation_temporality: cumulativ}}\n",
			want: `metric "m.bad": unknown aggregation_temporality "cumulativ"`,
		},
		{
			name: "Prometheus name collision",
			yaml: "metrics:\n  m.x: {enabled: true, description: d, unit: By, gauge: {value_type: int}}\n" +
				"  m.x.bytes: {enabled: true, description: d, unit: By, gauge: {value_type: int}}\n",
			want: `metrics "m.x" and "m.x.bytes" both become the Prometheus name m_x_bytes`,
		},
		{
			name: "Go name collision",
			yaml: "metrics:\n  m.a_b: {enabled: true, description: d, unit: '1', gauge: {value_type: int}}\n" +
				"  m.a.b: {enabled: false, description: d, unit: '1', gauge: {value_type: int}}\n",
			want: `metrics "m.a_b" and "m.a.b" both become the Go name MAB`,
		},
		{
			name: "resource attributes",
			yaml: "resource_attributes:\n  host.name: {description: d, type: string}\n" +
				"metrics:\n  m.ok: {enabled: true, description: d, unit: '1', gauge: {value_type: int}}\n",
			want: "resource_attributes are not supported by mdgen",
		},
		{
			name: "unknown key",
			yaml: "metrics:\n  m.bad: {enabled: true, description: d, unti: '1', gauge: {value_type: int}}\n",
			want: "field unti not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "metadata.yaml")
			require.NoError(t, os.WriteFile(path, []byte(header+tt.yaml), 0o644))
			_, err := loadModel(path)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestGaudiPrometheusNames pins the names dashboards and alerts use for the gaudi receiver.
func TestGaudiPrometheusNames(t *testing.T) {
	m, err := loadModel(filepath.Join("..", "..", "..", "receiver", "gaudireceiver", "metadata.yaml"))
	require.NoError(t, err)
	got := map[string]string{}
	for _, mt := range m.Metrics {
		got[mt.Name] = mt.PromName
	}
	for name, want := range map[string]string{
		"hpu.utilization":  "hpu_utilization_percent",
		"hpu.memory.used":  "hpu_memory_used_bytes",
		"hpu.memory.total": "hpu_memory_total_bytes",
		"hpu.temperature":  "hpu_temperature_celsius",
		"hpu.power":        "hpu_power_watts",
	} {
		assert.Equal(t, want, got[name], name)
	}
}

func TestGoName(t *testing.T) {
	for _, tt := range []struct {
		name     string
		exported bool
		want     string
	}{
		{"hpu.clock.soc.max", true, "HpuClockSocMax"},
		{"hpu.index", false, "hpuIndex"},
		{"on_chip", true, "OnChip"},
		{"hpu.uuid", false, "hpuUUID"},
		{"hpu.pci.bus_id", true, "HpuPciBusID"},
		{"cpu.time", true, "CPUTime"},
		{"cpu.time", false, "cpuTime"},
		{"id", true, "Id"}, // as mdatagen: a lone acronym stays as written
	} {
		assert.Equal(t, tt.want, goName(tt.name, tt.exported), "goName(%q, %v)", tt.name, tt.exported)
	}
}

func TestStabilityPerSignal(t *testing.T) {
	const metrics = "metrics:\n  m.ok: {enabled: true, description: d, unit: '1', gauge: {value_type: int}}\n"
	load := func(t *testing.T, status string) (*model, error) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "metadata.yaml")
		require.NoError(t, os.WriteFile(path, []byte("type: t\nscope_name: example.com/t\nstatus: "+status+"\n"+metrics), 0o600))
		return loadModel(path)
	}

	m, err := load(t, "{class: receiver, stability: {alpha: [metrics], development: [logs]}}")
	require.NoError(t, err)
	out, err := execute("status.go.tmpl", m)
	require.NoError(t, err)
	assert.Contains(t, string(out), "const MetricsStability = component.StabilityLevelAlpha")
	assert.Contains(t, string(out), "const LogsStability = component.StabilityLevelDevelopment")

	_, err = load(t, "{class: receiver, stability: {alpha: [metrics, traces]}}")
	assert.ErrorContains(t, err, `status.stability: signal "traces" is not supported`)
	_, err = load(t, "{class: receiver, stability: {alpha: [logs]}}")
	assert.ErrorContains(t, err, "status.stability has no known level listing metrics")
}
