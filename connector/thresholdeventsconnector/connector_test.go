package thresholdeventsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/goleak"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/extension/thresholdbusextension"
	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type host struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

func temperature(ts time.Time, v float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "gaudi")
	rm.Resource().Attributes().PutStr("service.instance.id", "host1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("hpu.temperature")
	m.SetUnit("Cel")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(v)
	dp.Attributes().PutInt("hpu.index", 0)
	return md
}

// TestProcessorEventsBecomeLogs wires processor → bus → connector as a collector would and checks the
// log records of firing and resolved transitions; each rule is evaluated once, by the processor.
func TestProcessorEventsBecomeLogs(t *testing.T) {
	ctx := context.Background()
	busID := component.MustNewID("threshold_bus")
	bus, err := thresholdbusextension.NewFactory().Create(ctx, extensiontest.NewNopSettings(component.MustNewType("threshold_bus")), &thresholdbusextension.Config{})
	require.NoError(t, err)
	h := host{Host: nil, ext: map[component.ID]component.Component{busID: bus}}

	pf := thresholdprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*thresholdprocessor.Config)
	pcfg.RuleFiles = []string{"testdata/semantics.rules.yaml"}
	pcfg.EvaluationInterval = 15 * time.Second
	pcfg.Events = &busID
	pset := processortest.NewNopSettings(pf.Type())
	proc, err := pf.CreateMetrics(ctx, pset, pcfg, consumertest.NewNop())
	require.NoError(t, err)

	logs := new(consumertest.LogsSink)
	ccfg := NewFactory().CreateDefaultConfig().(*Config)
	ccfg.Processor = pset.ID
	conn, err := NewFactory().CreateMetricsToLogs(ctx, connectortest.NewNopSettings(metadata.Type), ccfg, logs)
	require.NoError(t, err)

	require.NoError(t, bus.Start(ctx, h))
	require.NoError(t, proc.Start(ctx, h))
	require.NoError(t, conn.Start(ctx, h))

	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := 0; k <= 12; k++ {
		v := 80.0
		if k >= 1 && k <= 10 {
			v = 86
		}
		md := temperature(epoch.Add(time.Duration(k)*15*time.Second), v)
		require.NoError(t, proc.ConsumeMetrics(ctx, md))
		require.NoError(t, conn.ConsumeMetrics(ctx, md))
	}
	require.NoError(t, conn.Shutdown(ctx))
	require.NoError(t, proc.Shutdown(ctx))
	require.NoError(t, bus.Shutdown(ctx))

	var records []plog.LogRecord
	for _, ld := range logs.AllLogs() {
		rl := ld.ResourceLogs().At(0)
		assert.Equal(t, map[string]any{"service.name": "gaudi", "service.instance.id": "host1"}, rl.Resource().Attributes().AsRaw())
		lrs := rl.ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			records = append(records, lrs.At(i))
		}
	}
	require.Len(t, records, 2, "firing and resolved; pending is off by default")
	firing, resolved := records[0], records[1]
	assert.Equal(t, EventName, firing.EventName())
	assert.Equal(t, epoch.Add(135*time.Second), firing.Timestamp().AsTime())
	assert.Equal(t, "critical", firing.SeverityText())
	assert.Equal(t, plog.SeverityNumberFatal, firing.SeverityNumber())
	assert.Equal(t, "[FIRING] HPU temperature too high: HPU temperature 86°C exceeds 85°C threshold", firing.Body().Str())
	assert.Equal(t, map[string]any{
		"alertname": "HPUHighTemperature", "severity": "critical", "hpu_index": "0", "job": "gaudi", "instance": "host1",
		"alert.state": "firing", "alert.previous_state": "pending", "alert.value": 86.0,
		"alert.annotation.summary":     "HPU temperature too high",
		"alert.annotation.description": "HPU temperature 86°C exceeds 85°C threshold",
		"alert.active_at":              "2026-01-01T00:00:15Z", "alert.fired_at": "2026-01-01T00:02:15Z",
		"alert.rule.group": "semantics", "alert.rule.file": "testdata/semantics.rules.yaml",
	}, firing.Attributes().AsRaw())

	assert.Equal(t, epoch.Add(165*time.Second), resolved.Timestamp().AsTime())
	state, _ := resolved.Attributes().Get("alert.state")
	assert.Equal(t, "resolved", state.Str())
	resolvedAt, _ := resolved.Attributes().Get("alert.resolved_at")
	assert.Equal(t, "2026-01-01T00:02:45Z", resolvedAt.Str())
	assert.Equal(t, "[RESOLVED] HPU temperature too high: HPU temperature 86°C exceeds 85°C threshold", resolved.Body().Str())
}

func TestToLogsIncludePending(t *testing.T) {
	ev := thresholdprocessor.AlertEvent{State: "pending", PreviousState: "inactive"}
	assert.Equal(t, 0, toLogs([]thresholdprocessor.AlertEvent{ev}, false, service{}).LogRecordCount())
	assert.Equal(t, 1, toLogs([]thresholdprocessor.AlertEvent{ev}, true, service{}).LogRecordCount())
}

// An alert on series without job and instance (the gaudi receiver's) is filed under the collector that
// evaluated it; one with them keeps its own.
func TestResourceFallsBackToTheCollector(t *testing.T) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "otelcol-gaudi")
	res.Attributes().PutStr("service.instance.id", "node-7")
	self := collectorService(res)
	hpuAlert := thresholdprocessor.AlertEvent{State: "firing", Labels: labels.FromStrings("alertname", "HPUDeviceFailed")}
	jobAlert := thresholdprocessor.AlertEvent{State: "firing", Labels: labels.FromStrings("alertname", "TrainingStalled", "job", "ml/trainsim", "instance", "rank-0")}

	ld := toLogs([]thresholdprocessor.AlertEvent{hpuAlert, jobAlert}, false, self)
	require.Equal(t, 2, ld.ResourceLogs().Len())
	assert.Equal(t, map[string]any{"service.name": "otelcol-gaudi", "service.instance.id": "node-7"},
		ld.ResourceLogs().At(0).Resource().Attributes().AsRaw())
	assert.Equal(t, map[string]any{"service.namespace": "ml", "service.name": "trainsim", "service.instance.id": "rank-0"},
		ld.ResourceLogs().At(1).Resource().Attributes().AsRaw())
}

func TestConfigValidate(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.EqualError(t, cfg.Validate(), "processor: the threshold processor whose events to emit is required")
	cfg.Processor = component.MustNewID("threshold")
	require.NoError(t, cfg.Validate())
}
