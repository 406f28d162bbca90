package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/doctable"
)

// contractRow is one row of the metrics table in docs/training-metrics.md.
type contractRow struct {
	original, name, instrument, unit, prometheus string
}

// readContract parses the metrics table of docs/training-metrics.md.
func readContract(t *testing.T) []contractRow {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "training-metrics.md"))
	require.NoError(t, err)
	table, err := doctable.Read(string(doc), "metrics table", []string{"Original design", "OTel name", "Instrument", "Unit", "Prometheus name"})
	require.NoError(t, err)
	var rows []contractRow
	for _, c := range table {
		for i := range c {
			c[i] = strings.Trim(c[i], "`")
		}
		rows = append(rows, contractRow{original: c[0], name: c[1], instrument: c[2], unit: c[3], prometheus: c[4]})
	}
	return rows
}

// translatorType is the otlptranslator type of an instrument column value.
func translatorType(t *testing.T, instrument string) otlptranslator.MetricType {
	t.Helper()
	switch instrument {
	case "gauge":
		return otlptranslator.MetricTypeGauge
	case "counter":
		return otlptranslator.MetricTypeMonotonicCounter
	}
	t.Fatalf("instrument %q: want gauge or counter", instrument)
	return otlptranslator.MetricTypeUnknown
}

// TestContractPrometheusNames computes every Prometheus name of the table as the prometheus and
// prometheus_remote_write exporters do.
func TestContractPrometheusNames(t *testing.T) {
	namer := otlptranslator.MetricNamer{WithMetricSuffixes: true}
	rows := readContract(t)
	for _, r := range rows {
		got, err := namer.Build(otlptranslator.Metric{Name: r.name, Unit: r.unit, Type: translatorType(t, r.instrument)})
		require.NoError(t, err, r.name)
		assert.Equal(t, r.prometheus, got, "Prometheus name of %s (unit %q, %s)", r.name, r.unit, r.instrument)
	}
	t.Logf("%d metrics, all names as the exporters make them", len(rows))
}

// TestContractCoversAlertRules checks that every metric the training alert rules query is in the table.
func TestContractCoversAlertRules(t *testing.T) {
	promNames := map[string]bool{}
	for _, r := range readContract(t) {
		promNames[r.prometheus] = true
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "configs", "prometheus", "rules", "training.rules.yaml"))
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	p := parser.NewParser(parser.Options{})
	used := 0
	for _, g := range file.Groups {
		for _, rule := range g.Rules {
			expr, err := p.ParseExpr(rule.Expr)
			require.NoError(t, err, rule.Alert)
			for _, matchers := range parser.ExtractSelectors(expr) {
				for _, m := range matchers {
					if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
						used++
						assert.True(t, promNames[m.Value], "rule %s queries %s, which the contract does not define", rule.Alert, m.Value)
					}
				}
			}
		}
	}
	require.Positive(t, used, "no metric names found in the training rules")
}

// TestRankEmitsContract runs a rank against the SDK's in-memory reader and compares what it emits with
// the table: the same metrics, units and types, and the contract's resource.
func TestRankEmitsContract(t *testing.T) {
	tr := newTestRank(t, testConfig(t, "-steps", "3"), testIdentity())
	require.NoError(t, tr.run(context.Background()))
	rm := tr.collect(t)
	got := metricsByName(rm)

	rows := readContract(t)
	var want []string
	for _, r := range rows {
		want = append(want, r.name)
		m, ok := got[r.name]
		if !assert.True(t, ok, "%s is not emitted", r.name) {
			continue
		}
		assert.Equal(t, r.unit, m.Unit, "unit of %s", r.name)
		assert.NotEmpty(t, m.Description, "description of %s", r.name)
		switch r.instrument {
		case "gauge":
			g, ok := m.Data.(metricdata.Gauge[float64])
			if assert.True(t, ok, "%s is a %T, want a gauge", r.name, m.Data) {
				assert.Len(t, g.DataPoints, 1, "%s: one series per rank", r.name)
			}
		case "counter":
			s, ok := m.Data.(metricdata.Sum[int64])
			if assert.True(t, ok, "%s is a %T, want a sum", r.name, m.Data) {
				assert.True(t, s.IsMonotonic, "%s is monotonic", r.name)
				assert.Equal(t, metricdata.CumulativeTemporality, s.Temporality, "%s temporality", r.name)
				assert.Len(t, s.DataPoints, 1, "%s: one series per rank", r.name)
			}
		}
		// Identity lives in the resource only, so that every series of a rank has the same labels.
		assert.Zero(t, dataPointAttrs(m), "%s has data point attributes", r.name)
	}
	gotNames := make([]string, 0, len(got))
	for n := range got {
		gotNames = append(gotNames, n)
	}
	assert.ElementsMatch(t, want, gotNames, "emitted metrics vs the contract table")
	require.Len(t, rm.ScopeMetrics, 1)
	assert.Equal(t, scopeName, rm.ScopeMetrics[0].Scope.Name)

	wantResource := map[attribute.Key]attribute.Value{
		"service.name":        attribute.StringValue("trainsim"),
		"service.instance.id": attribute.StringValue("job-1/rank-3"),
		"host.name":           attribute.StringValue("node-a"),
		"training.job.id":     attribute.StringValue("job-1"),
		"training.rank":       attribute.IntValue(3),
		"training.local_rank": attribute.IntValue(3),
		"training.world_size": attribute.IntValue(8),
		"hpu.module.id":       attribute.IntValue(5),
		"hpu.index":           attribute.IntValue(3),
	}
	gotResource := map[attribute.Key]attribute.Value{}
	for _, kv := range rm.Resource.Attributes() {
		gotResource[kv.Key] = kv.Value
	}
	assert.Equal(t, wantResource, gotResource)
}

// TestResourceWithoutHPU leaves out the HPU attributes when the job does not know them.
func TestResourceWithoutHPU(t *testing.T) {
	id := testIdentity()
	id.moduleID, id.hpuIndex = -1, -1
	var keys []string
	for _, kv := range id.resource().Attributes() {
		keys = append(keys, string(kv.Key))
	}
	assert.False(t, slices.Contains(keys, "hpu.module.id") || slices.Contains(keys, "hpu.index"), "resource %v", keys)
	assert.Contains(t, keys, "training.rank")
}

func dataPointAttrs(m metricdata.Metrics) int {
	n := 0
	switch d := m.Data.(type) {
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			n += dp.Attributes.Len()
		}
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			n += dp.Attributes.Len()
		}
	}
	return n
}
