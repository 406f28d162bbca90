package thresholdprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor/internal/metadata"
)

const (
	benchNodes      = 125
	benchHPUs       = 8
	benchInterval   = 15 * time.Second
	benchExtraRules = 39 // with the 11 shipped rules: 50
)

// benchRules writes the shipped rule files plus generated variations on the same metrics.
func benchRules(b *testing.B) []string {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("groups:\n  - name: extra\n    rules:\n")
	for i := range benchExtraRules {
		var expr string
		switch i % 4 {
		case 0:
			expr = fmt.Sprintf("hpu_temperature_celsius > %d", 85+i)
		case 1:
			expr = fmt.Sprintf("avg by (job) (hpu_utilization_percent) < %d", 10+i)
		case 2:
			expr = fmt.Sprintf("rate(hpu_energy_joules_total[5m]) > %d", 600+i)
		default:
			expr = fmt.Sprintf("hpu_memory_used_bytes / hpu_memory_total_bytes > 0.%02d", 80+i%20)
		}
		fmt.Fprintf(&sb, "      - alert: Extra%d\n        expr: %s\n        for: 1m\n        labels: {severity: warning}\n        annotations: {description: \"{{ $labels.hpu_index }} {{ $value }}\"}\n", i, expr)
	}
	extra := filepath.Join(dir, "extra.rules.yaml")
	require.NoError(b, os.WriteFile(extra, []byte(sb.String()), 0o600))
	return []string{"../../configs/prometheus/rules/hpu.rules.yaml", "../../configs/prometheus/rules/training.rules.yaml", extra}
}

// benchBatch is one scrape of benchNodes nodes × benchHPUs devices × 10 series = 10,000 series. Values
// are those of a healthy cluster with a few devices in trouble (about 1% of series match a rule).
func benchBatch(k int) pmetric.Metrics {
	ts := pcommon.NewTimestampFromTime(epoch.Add(time.Duration(k) * benchInterval))
	md := pmetric.NewMetrics()
	for n := range benchNodes {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "gaudi")
		rm.Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("node-%03d", n))
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("gaudireceiver")
		gauge := func(name, unit string, v func(h int) float64, attrs ...string) {
			m := sm.Metrics().AppendEmpty()
			m.SetName(name)
			m.SetUnit(unit)
			dps := m.SetEmptyGauge().DataPoints()
			for h := range benchHPUs {
				dp := dps.AppendEmpty()
				dp.SetTimestamp(ts)
				dp.SetDoubleValue(v(h))
				dp.Attributes().PutInt("hpu.index", int64(h))
				dp.Attributes().PutStr("hpu.uuid", fmt.Sprintf("%03d-%d", n, h))
				for i := 0; i+1 < len(attrs); i += 2 {
					dp.Attributes().PutStr(attrs[i], attrs[i+1])
				}
			}
		}
		gauge("hpu.utilization", "%", func(h int) float64 { return float64(60 + (n+h+k)%40) })
		gauge("hpu.memory.used", "By", func(h int) float64 { return float64(80+(n+h)%20) * 1e9 })
		gauge("hpu.memory.total", "By", func(int) float64 { return 128e9 })
		gauge("hpu.temperature", "Cel", func(h int) float64 { return float64(50 + (n+h+k)%30 + 20*((n+h)%50/49)) }, "hpu.sensor", "on_chip")
		gauge("hpu.temperature", "Cel", func(h int) float64 { return float64(40 + (n+h)%30) }, "hpu.sensor", "on_board")
		gauge("hpu.temperature.limit", "Cel", func(int) float64 { return 95 }, "hpu.threshold", "slowdown")
		gauge("hpu.power", "W", func(h int) float64 { return float64(400 + (n+h+k)%200) })
		gauge("hpu.power.limit", "W", func(int) float64 { return 600 })
		gauge("hpu.clock.throttle.active", "{state}", func(h int) float64 { return float64((n + h) % 100 / 99) }, "hpu.throttle.reason", "power")
		energy := sm.Metrics().AppendEmpty()
		energy.SetName("hpu.energy")
		energy.SetUnit("J")
		sum := energy.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for h := range benchHPUs {
			dp := sum.DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(epoch))
			dp.SetDoubleValue(float64(k) * 500 * 15)
			dp.Attributes().PutInt("hpu.index", int64(h))
			dp.Attributes().PutStr("hpu.uuid", fmt.Sprintf("%03d-%d", n, h))
		}
	}
	return md
}

// BenchmarkEvaluation measures one evaluation of the 50 rules over 10,000 series with 6 minutes of data.
func BenchmarkEvaluation(b *testing.B) {
	cfg := testConfig(benchRules(b)...)
	cfg.EvaluationInterval = benchInterval
	h := newBenchHarness(b, cfg)
	for k := range 24 {
		require.NoError(b, h.proc.ConsumeMetrics(context.Background(), benchBatch(k)))
	}
	ctx := context.Background()
	last := epoch.Add(23 * benchInterval)
	for b.Loop() {
		// Evaluate the same instant again and again: same data, same work, no time moving.
		h.p.mu.Lock()
		for _, g := range h.p.eval.groups {
			h.p.eval.evalGroup(ctx, g, last)
		}
		h.p.mu.Unlock()
	}
}

func newBenchHarness(b *testing.B, cfg *Config) *harness {
	b.Helper()
	sink := consumertest.NewNop()
	set := processortest.NewNopSettings(metadata.Type)
	p, err := newThresholdProcessor(cfg, set.ID, set.TelemetrySettings, sink)
	require.NoError(b, err)
	proc, err := newMetricsProcessor(context.Background(), set, cfg, sink, p)
	require.NoError(b, err)
	require.NoError(b, proc.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, proc.Shutdown(context.Background())) })
	return &harness{proc: proc, p: p}
}

// BenchmarkIngestTranslation compares, side by side, ingesting one 10,000-series batch with no resource
// attributes as labels, with all of them (resource_to_telemetry_conversion) and with the shipped configs'
// resource_constant_labels, whose selection runs the exporter's resourcetotelemetry wrapper once per key.
func BenchmarkIngestTranslation(b *testing.B) {
	arms := []struct {
		name string
		set  func(*TranslationConfig)
	}{
		{"none", func(*TranslationConfig) {}},
		{"resource_to_telemetry_conversion", func(tc *TranslationConfig) { tc.ResourceToTelemetryConversion = true }},
		{"resource_constant_labels", func(tc *TranslationConfig) {
			tc.ResourceConstantLabels.Included = []string{"*"}
			tc.ResourceConstantLabels.Excluded = []string{"service.name", "service.namespace", "service.instance.id"}
		}},
	}
	for _, arm := range arms {
		b.Run(arm.name, func(b *testing.B) {
			cfg := testConfig(benchRules(b)...)
			cfg.EvaluationInterval = benchInterval
			arm.set(&cfg.Translation)
			h := newBenchHarness(b, cfg)
			md := benchBatch(0)
			require.NoError(b, h.proc.ConsumeMetrics(context.Background(), md))
			ctx := context.Background()
			for b.Loop() {
				// The same instant again: the ingest path with the series already known, no evaluation.
				h.p.mu.Lock()
				_, err := h.p.ingest(ctx, md)
				h.p.mu.Unlock()
				require.NoError(b, err)
			}
		})
	}
}
