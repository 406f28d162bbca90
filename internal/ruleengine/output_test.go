package ruleengine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// receiverBatch is hpu.temperature as the gaudi receiver sends it, from a node whose resource carries
// service.* attributes.
func receiverBatch(ts time.Time, temps map[int64]float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.namespace", "node")
	rm.Resource().Attributes().PutStr("service.name", "gaudi")
	rm.Resource().Attributes().PutStr("service.instance.id", "host1")
	rm.Resource().Attributes().PutStr("host.name", "host1")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("gaudireceiver")
	sm.Scope().SetVersion("0.1.0")
	m := sm.Metrics().AppendEmpty()
	m.SetName("hpu.temperature")
	m.SetUnit("Cel")
	g := m.SetEmptyGauge()
	for idx := int64(0); idx < int64(len(temps)); idx++ {
		dp := g.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(temps[idx])
		dp.Attributes().PutInt("hpu.index", idx)
		dp.Attributes().PutStr("hpu.uuid", "u"+string(rune('0'+idx)))
		dp.Attributes().PutStr("hpu.sensor", "on_chip")
	}
	return md
}

// TestNamesMatchThePrometheusExporter: series get the exporter's names and labels, and ALERTS goes back
// into OTLP so that the exporter gives it the same job, instance and scope labels.
func TestNamesMatchThePrometheusExporter(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	h.consume(receiverBatch(epoch, map[int64]float64{0: 87}))
	vec, err := h.query("hpu_temperature_celsius", epoch)
	require.NoError(t, err)
	require.Len(t, vec, 1)
	assert.Equal(t, labels.FromStrings("__name__", "hpu_temperature_celsius", "hpu_index", "0", "hpu_uuid", "u0", "hpu_sensor", "on_chip",
		"job", "node/gaudi", "instance", "host1", "otel_scope_name", "gaudireceiver", "otel_scope_version", "0.1.0"), vec[0].Metric)

	all := h.sink.AllMetrics()
	require.Len(t, all, 1)
	rms := all[0].ResourceMetrics()
	require.Equal(t, 1, rms.Len(), "one resource for ALERTS")
	alerts := rms.At(0)
	assert.Equal(t, map[string]any{"service.namespace": "node", "service.name": "gaudi", "service.instance.id": "host1"}, alerts.Resource().Attributes().AsRaw())
	scope := alerts.ScopeMetrics().At(0)
	assert.Equal(t, "gaudireceiver", scope.Scope().Name())
	assert.Equal(t, "0.1.0", scope.Scope().Version())
	m := scope.Metrics().At(0)
	assert.Equal(t, "ALERTS", m.Name())
	require.Equal(t, 1, m.Gauge().DataPoints().Len())
	dp := m.Gauge().DataPoints().At(0)
	assert.Equal(t, map[string]any{"alertname": "HPUHighTemperature", "alertstate": "pending", "hpu_index": "0", "hpu_uuid": "u0",
		"hpu_sensor": "on_chip", "severity": "critical"}, dp.Attributes().AsRaw())
	assert.Equal(t, 1.0, dp.DoubleValue())
	assert.Equal(t, epoch, dp.Timestamp().AsTime())
}

// TestAlertsWithResourceToTelemetryConversion: with every resource attribute a label, ALERTS keeps the
// series' resource labels as attributes, except the service.* ones, which the exporter derives again from
// the resource rebuilt from job and instance (as attributes too they would be duplicate labels).
func TestAlertsWithResourceToTelemetryConversion(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Translation.ResourceToTelemetryConversion = true
	h := newHarness(t, cfg)
	h.consume(receiverBatch(epoch, map[int64]float64{0: 87}))
	vec, err := h.query("hpu_temperature_celsius", epoch)
	require.NoError(t, err)
	require.Len(t, vec, 1)
	assert.Equal(t, "gaudi", vec[0].Metric.Get("service_name"), "rules see the converted resource attributes")
	assert.Equal(t, "host1", vec[0].Metric.Get("host_name"))

	rms := h.sink.AllMetrics()[0].ResourceMetrics()
	require.Equal(t, 1, rms.Len())
	alerts := rms.At(0)
	assert.Equal(t, map[string]any{"service.namespace": "node", "service.name": "gaudi", "service.instance.id": "host1"}, alerts.Resource().Attributes().AsRaw())
	dp := alerts.ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0)
	assert.Equal(t, map[string]any{"alertname": "HPUHighTemperature", "alertstate": "pending", "hpu_index": "0", "hpu_uuid": "u0",
		"hpu_sensor": "on_chip", "severity": "critical", "host_name": "host1"}, dp.Attributes().AsRaw())
}

// TestAlertsWithResourceConstantLabels: with the exporter's resource_constant_labels mirrored, rules see
// exactly the resource attributes the exporter turns into labels (here all but service.*, as the shipped
// configs set), and ALERTS carries them as attributes.
func TestAlertsWithResourceConstantLabels(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Translation.ResourceConstantLabels.Included = []string{"*"}
	cfg.Translation.ResourceConstantLabels.Excluded = []string{"service.name", "service.namespace", "service.instance.id"}
	h := newHarness(t, cfg)
	h.consume(receiverBatch(epoch, map[int64]float64{0: 87}))
	vec, err := h.query("hpu_temperature_celsius", epoch)
	require.NoError(t, err)
	require.Len(t, vec, 1)
	assert.Equal(t, labels.FromStrings("__name__", "hpu_temperature_celsius", "hpu_index", "0", "hpu_uuid", "u0", "hpu_sensor", "on_chip",
		"host_name", "host1", "job", "node/gaudi", "instance", "host1", "otel_scope_name", "gaudireceiver", "otel_scope_version", "0.1.0"), vec[0].Metric)

	dp := h.sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0)
	assert.Equal(t, map[string]any{"alertname": "HPUHighTemperature", "alertstate": "pending", "hpu_index": "0", "hpu_uuid": "u0",
		"hpu_sensor": "on_chip", "severity": "critical", "host_name": "host1"}, dp.Attributes().AsRaw())
}

// TestResourceConstantLabelsPatterns: included and excluded are the exporter's glob patterns, excluded
// winning; an attribute of the data point that a selected resource attribute shadows is overwritten.
func TestResourceConstantLabelsPatterns(t *testing.T) {
	tests := []struct {
		name               string
		included, excluded []string
		want               map[string]string // labels from the resource, besides job and instance
	}{
		{"included glob", []string{"host.*"}, nil, map[string]string{"host_name": "host1"}},
		{"excluded only: all but those", nil, []string{"service.*", "host.?ame"}, map[string]string{}},
		{"excluded wins", []string{"*"}, []string{"host.name", "service.namespace"}, map[string]string{"service_name": "gaudi", "service_instance_id": "host1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("testdata/semantics.rules.yaml")
			cfg.Translation.ResourceConstantLabels.Included = tt.included
			cfg.Translation.ResourceConstantLabels.Excluded = tt.excluded
			h := newHarness(t, cfg)
			h.consume(receiverBatch(epoch, map[int64]float64{0: 50}))
			vec, err := h.query("hpu_temperature_celsius", epoch)
			require.NoError(t, err)
			require.Len(t, vec, 1)
			got := map[string]string{}
			vec[0].Metric.Range(func(l labels.Label) {
				switch l.Name {
				case "host_name", "service_name", "service_namespace", "service_instance_id":
					got[l.Name] = l.Value
				}
			})
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestSeriesAndSampleLimits: samples beyond max_series or closer together than retention /
// max_samples_per_series are dropped. The first drop is logged at once with its sender; later ones at
// most once a minute, and the totals since the last warning are logged by Tick once the minute has
// passed, whether or not more samples are dropped.
func TestSeriesAndSampleLimits(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Limits.MaxSeries = 2
	cfg.Limits.MaxSeriesPerSender = 2
	cfg.Limits.MaxSamplesPerSeries = 10
	cfg.Limits.Retention = 10 * time.Minute // at most one sample per minute per series
	core, logs := observer.New(zap.WarnLevel)
	h := newHarnessWithLogger(t, cfg, zap.New(core))
	const node = "local service.namespace=node service.name=gaudi service.instance.id=host1 host.name=host1"
	h.consume(receiverBatch(epoch, map[int64]float64{0: 50, 1: 50, 2: 50}))
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "Samples were not stored for rule evaluation", logs.All()[0].Message)
	assert.Equal(t, map[string]any{"series_limit": int64(1), "senders": []any{node + " (series_limit 1)"}, "sender_count": int64(1),
		"series": int64(2), "max_series": int64(2)}, logs.All()[0].ContextMap())

	h.consume(receiverBatch(epoch.Add(30*time.Second), map[int64]float64{0: 51, 1: 51, 2: 51}))
	h.clock.Set(epoch.Add(59 * time.Second))
	h.e.Tick(context.Background())
	assert.Equal(t, 1, logs.Len(), "less than a minute since the last warning")
	h.clock.Set(epoch.Add(time.Minute))
	h.e.Tick(context.Background())
	require.Equal(t, 2, logs.Len(), "the minute has passed: the totals are logged without another drop")
	assert.Equal(t, map[string]any{"series_limit": int64(1), "samples_per_series_limit": int64(2),
		"senders": []any{node + " (samples_per_series_limit 2, series_limit 1)"}, "sender_count": int64(1),
		"series": int64(2), "max_series": int64(2), "since_last_warning": time.Minute}, logs.All()[1].ContextMap())
	h.e.Tick(context.Background())
	assert.Equal(t, 2, logs.Len(), "nothing dropped since")

	h.consume(receiverBatch(epoch.Add(time.Minute), map[int64]float64{0: 52, 1: 52, 2: 52}))
	assert.Equal(t, 2, h.e.store.numSeries())
	vec, err := h.query("count_over_time(hpu_temperature_celsius[5m])", epoch.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, vec, 2)
	for _, s := range vec {
		assert.Equal(t, 2.0, s.F, "samples at 0 and 1m, the one at 30s dropped")
	}
}

func TestAlertStateAttributes(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.AlertStateAttributes = true
	h := newHarness(t, cfg)
	md := receiverBatch(epoch, map[int64]float64{0: 95, 1: 86, 2: 50})
	h.consume(md)
	h.e.Annotate(md)
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints()
	got := map[int64]map[string]any{}
	for i := 0; i < dps.Len(); i++ {
		a := dps.At(i).Attributes().AsRaw()
		idx := a["hpu.index"].(int64)
		delete(a, "hpu.index")
		delete(a, "hpu.uuid")
		delete(a, "hpu.sensor")
		got[idx] = a
	}
	assert.Equal(t, map[int64]map[string]any{
		0: {"alert.state": "firing", "alert.names": []any{"HPUHighTemperature", "HPUHot"}},
		1: {"alert.state": "pending", "alert.names": []any{"HPUHighTemperature"}},
		2: {},
	}, got)
}
