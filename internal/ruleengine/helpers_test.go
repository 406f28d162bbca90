package ruleengine

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"
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

// harness is an engine on a test clock whose ALERTS (AlertsMetrics of every output) go to sink and whose
// outputs are kept in order.
type harness struct {
	t     *testing.T
	e     *Engine
	clock *enginetest.Clock
	sink  *consumertest.MetricsSink
	tel   *componenttest.Telemetry

	mu      sync.Mutex
	results []Result
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	return newHarnessWithLogger(t, cfg, zap.NewNop())
}

func newHarnessWithLogger(t testing.TB, cfg Config, logger *zap.Logger) *harness {
	t.Helper()
	h := &harness{clock: enginetest.NewClock(epoch), sink: new(consumertest.MetricsSink), tel: componenttest.NewTelemetry()}
	if tt, ok := t.(*testing.T); ok {
		h.t = tt
	}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	meter := h.tel.NewTelemetrySettings().MeterProvider.Meter("test")
	e, err := New(cfg, Settings{Logger: logger, Meter: meter, Clock: h.clock.Now, Output: func(ctx context.Context, r Result) {
		h.mu.Lock()
		h.results = append(h.results, r)
		h.mu.Unlock()
		if md := h.e.AlertsMetrics(r.Evaluations); md.DataPointCount() > 0 {
			_ = h.sink.ConsumeMetrics(ctx, md)
		}
	}})
	require.NoError(t, err)
	h.e = e
	require.NoError(t, e.Start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, e.Close(context.Background())) })
	return h
}

func testConfig(files ...string) Config {
	cfg := DefaultConfig()
	cfg.RuleFiles = files
	cfg.EvaluationInterval = 15 * time.Second
	return cfg
}

// consume ingests md from the collector's own receivers with the wall clock moved to md's latest point
// if it is behind, as when data arrives the moment it is stamped.
func (h *harness) consume(md pmetric.Metrics) {
	h.t.Helper()
	if t := latest(md); t.After(h.clock.Now()) {
		h.clock.Set(t)
	}
	h.consumeFrom("", md)
}

// consumeFrom ingests md from the client peer ("" for the collector's own receivers), leaving the clock.
func (h *harness) consumeFrom(peer string, md pmetric.Metrics) {
	h.t.Helper()
	require.NoError(h.t, h.e.Ingest(context.Background(), md, peer))
}

// latest is the latest point time of md.
func latest(md pmetric.Metrics) time.Time {
	var maxT pcommon.Timestamp
	forEachScope(md, func(_ seriesContext, ms pmetric.MetricSlice) {
		for k := 0; k < ms.Len(); k++ {
			dps, ok := numberPoints(ms.At(k))
			for l := 0; ok && l < dps.Len(); l++ {
				maxT = max(maxT, dps.At(l).Timestamp())
			}
		}
	})
	return maxT.AsTime()
}

// dropped is the dropped-samples counter, as "reason sender" → count.
func (h *harness) dropped() map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	m, err := h.tel.GetMetric("otelcol_connector_threshold_samples_dropped")
	if err != nil {
		return out
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value("reason")
		sender, _ := dp.Attributes.Value("sender")
		out[reason.AsString()+" "+sender.AsString()] = dp.Value
	}
	return out
}

// query runs expr over the engine's store at ts, with Prometheus' own types for the assertions.
func (h *harness) query(expr string, ts time.Time) (promql.Vector, error) {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	return h.e.eval.query(context.Background(), expr, ts)
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

// noLimits keeps every sample of dense test series.
func noLimits(cfg *Config) {
	cfg.Limits.MaxSamplesPerSeries = maxSamplesBound
	cfg.Limits.MaxCatchUpEvaluations = math.MaxInt16
}
