package thresholdprocessor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor/internal/metadata"
)

// epoch is an arbitrary aligned start time for tests.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type point struct {
	attrs map[string]any
	value float64
}

// gaugeBatch builds one batch with one gauge metric named as the receiver would name it.
func gaugeBatch(name, unit string, ts time.Time, pts ...point) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	g := m.SetEmptyGauge()
	for _, p := range pts {
		dp := g.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(p.value)
		if err := dp.Attributes().FromRaw(p.attrs); err != nil {
			panic(err)
		}
	}
	return md
}

type harness struct {
	t    *testing.T
	proc processor.Metrics
	p    *thresholdProcessor
	sink *consumertest.MetricsSink
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	return newHarnessWithLogger(t, cfg, zap.NewNop())
}

func newHarnessWithLogger(t *testing.T, cfg *Config, logger *zap.Logger) *harness {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = logger
	p, err := newThresholdProcessor(cfg, set.ID, set.TelemetrySettings, sink)
	require.NoError(t, err)
	proc, err := newMetricsProcessor(context.Background(), set, cfg, sink, p)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, proc.Shutdown(context.Background())) })
	return &harness{t: t, proc: proc, p: p, sink: sink}
}

func testConfig(files ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.RuleFiles = files
	cfg.EvaluationInterval = 15 * time.Second
	return cfg
}

func (h *harness) consume(md pmetric.Metrics) {
	h.t.Helper()
	require.NoError(h.t, h.proc.ConsumeMetrics(context.Background(), md))
}

// alertsAt returns "alertname/alertstate{attrs}" of the ALERTS points at ts in everything sent so far;
// stale points are prefixed with "stale:".
func (h *harness) alertsAt(ts time.Time) []string {
	var out []string
	for _, md := range h.sink.AllMetrics() {
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					m := ms.At(k)
					if m.Name() != alertsMetric {
						continue
					}
					dps := m.Gauge().DataPoints()
					for l := 0; l < dps.Len(); l++ {
						dp := dps.At(l)
						if !dp.Timestamp().AsTime().Equal(ts) {
							continue
						}
						out = append(out, describeAlertPoint(rms.At(i).Resource().Attributes(), dp))
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// describeAlertPoint renders the labels the exporter would give the point: service.name → job and
// service.instance.id → instance (the tests use no namespace).
func describeAlertPoint(res pcommon.Map, dp pmetric.NumberDataPoint) string {
	attrs := dp.Attributes()
	name, _ := attrs.Get("alertname")
	state, _ := attrs.Get("alertstate")
	var rest []string
	if v, ok := res.Get("service.name"); ok {
		rest = append(rest, "job="+v.Str())
	}
	if v, ok := res.Get("service.instance.id"); ok {
		rest = append(rest, "instance="+v.Str())
	}
	for k, v := range attrs.All() {
		if k != "alertname" && k != "alertstate" {
			rest = append(rest, k+"="+v.AsString())
		}
	}
	sort.Strings(rest)
	s := name.Str() + "/" + state.Str() + "{" + strings.Join(rest, ",") + "}"
	if dp.Flags().NoRecordedValue() {
		return "stale:" + s
	}
	return s
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func componentTelemetry() component.TelemetrySettings { return componenttest.NewNopTelemetrySettings() }
