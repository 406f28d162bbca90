package thresholdconnector

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

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

// pipeline is one threshold connector ID with its metrics → metrics and/or metrics → logs instances,
// built from one factory and fed as the collector's fanout feeds them: every batch to each instance.
type pipeline struct {
	clock     *enginetest.Clock
	instances []connector.Metrics
	metrics   *consumertest.MetricsSink
	logs      *consumertest.LogsSink
}

func newPipeline(t *testing.T, cfg *Config, withMetrics, withLogs bool) *pipeline {
	return newPipelineWith(t, cfg, withMetrics, withLogs, componenttest.NewNopTelemetrySettings())
}

func newPipelineWith(t *testing.T, cfg *Config, withMetrics, withLogs bool, tel component.TelemetrySettings) *pipeline {
	return newPipelineOn(t, cfg, withMetrics, withLogs, tel, componenttest.NewNopHost(), nil)
}

// newPipelineOn builds the pipeline on host; the logs output goes to logs, or (nil) to p.logs through
// yieldingLogs.
func newPipelineOn(t *testing.T, cfg *Config, withMetrics, withLogs bool, tel component.TelemetrySettings, host component.Host, logs consumer.Logs) *pipeline {
	t.Helper()
	ctx := context.Background()
	p := &pipeline{clock: enginetest.NewClock(epoch), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink)}
	f := newFactory(p.clock.Now)
	if logs == nil {
		logs = yieldingLogs{p.logs}
	}
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel
	if withMetrics {
		c, err := f.CreateMetricsToMetrics(ctx, set, cfg, p.metrics)
		require.NoError(t, err)
		p.instances = append(p.instances, c)
	}
	if withLogs {
		c, err := f.CreateMetricsToLogs(ctx, set, cfg, logs)
		require.NoError(t, err)
		p.instances = append(p.instances, c)
	}
	for _, c := range p.instances {
		require.NoError(t, c.Start(ctx, host))
	}
	t.Cleanup(func() { p.shutdown(t) })
	return p
}

// shutdown shuts every instance down, as the collector does; a second call does nothing.
func (p *pipeline) shutdown(t *testing.T) {
	for _, c := range p.instances {
		require.NoError(t, c.Shutdown(context.Background()))
	}
}

// consume hands md to every instance, with the clock at md's time as if it arrived when stamped.
func (p *pipeline) consume(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	p.clock.Reach(md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).Timestamp().AsTime())
	p.consumeCtx(t, context.Background(), md)
}

// consumeCtx hands md to every instance with ctx, leaving the clock where it is.
func (p *pipeline) consumeCtx(t *testing.T, ctx context.Context, md pmetric.Metrics) {
	t.Helper()
	for _, c := range p.instances {
		require.NoError(t, c.ConsumeMetrics(ctx, md))
	}
}

// alerts lists "alertname/alertstate@seconds since epoch" of the ALERTS points sent (stale ones last).
func (p *pipeline) alerts() []string {
	var out []string
	for _, md := range p.metrics.AllMetrics() {
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			ms := rms.At(i).ScopeMetrics().At(0).Metrics()
			for j := 0; j < ms.Len(); j++ {
				if ms.At(j).Name() != "ALERTS" {
					continue
				}
				dps := ms.At(j).Gauge().DataPoints()
				for k := 0; k < dps.Len(); k++ {
					name, _ := dps.At(k).Attributes().Get("alertname")
					state, _ := dps.At(k).Attributes().Get("alertstate")
					s := fmt.Sprintf("%s/%s@%v", name.Str(), state.Str(), dps.At(k).Timestamp().AsTime().Sub(epoch).Seconds())
					if dps.At(k).Flags().NoRecordedValue() {
						s = "stale:" + s
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// yieldingLogs lets other goroutines run while it holds a batch, as a slower consumer would: an output
// that is not ordered would be overtaken here.
type yieldingLogs struct{ *consumertest.LogsSink }

func (y yieldingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	for range 20 {
		runtime.Gosched()
	}
	return y.LogsSink.ConsumeLogs(ctx, ld)
}

func (p *pipeline) records() []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range p.logs.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				out = append(out, lrs.At(j))
			}
		}
	}
	return out
}

func testConfig(files ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.RuleFiles = files
	cfg.EvaluationInterval = 15 * time.Second
	return cfg
}

// TestOneIDBothOutputs: one connector ID, as a collector wires it into a metrics and a logs pipeline,
// evaluates the rules once: the metrics output passes every batch on with the ALERTS series added, the
// logs output carries the firing and resolved transitions.
func TestOneIDBothOutputs(t *testing.T) {
	p := newPipeline(t, testConfig("testdata/semantics.rules.yaml"), true, true)
	var inputs []pmetric.Metrics
	for k := 0; k <= 12; k++ {
		v := 80.0
		if k >= 1 && k <= 10 {
			v = 86
		}
		md := temperature(epoch.Add(time.Duration(k)*15*time.Second), v)
		inputs = append(inputs, md)
		p.consume(t, md)
	}
	var passed []pmetric.Metrics
	for _, md := range p.metrics.AllMetrics() {
		if md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name() != "ALERTS" {
			passed = append(passed, md)
		}
	}
	require.Len(t, passed, len(inputs), "every batch passes on")
	for i := range inputs {
		assert.Equal(t, inputs[i], passed[i], "as it came")
	}
	alerts := p.alerts()
	assert.Contains(t, alerts, "HPUHighTemperature/pending@15")
	assert.Contains(t, alerts, "HPUHighTemperature/firing@135")
	assert.Contains(t, alerts, "stale:HPUHighTemperature/firing@165")

	records := p.records()
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
	assert.Equal(t, map[string]any{"service.name": "gaudi", "service.instance.id": "host1"},
		p.logs.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw())

	assert.Equal(t, epoch.Add(165*time.Second), resolved.Timestamp().AsTime())
	state, _ := resolved.Attributes().Get("alert.state")
	assert.Equal(t, "resolved", state.Str())
	resolvedAt, _ := resolved.Attributes().Get("alert.resolved_at")
	assert.Equal(t, "2026-01-01T00:02:45Z", resolvedAt.Str())
	assert.Equal(t, "[RESOLVED] HPU temperature too high: HPU temperature 86°C exceeds 85°C threshold", resolved.Body().Str())
}

// TestLogsOnly: a connector used only for its transitions evaluates the batches its logs instance gets.
func TestLogsOnly(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.IncludePending = true
	p := newPipeline(t, cfg, false, true)
	p.consume(t, temperature(epoch, 91))
	var states []string
	for _, r := range p.records() {
		name, _ := r.Attributes().Get("alertname")
		state, _ := r.Attributes().Get("alert.state")
		states = append(states, name.Str()+"/"+state.Str())
	}
	sort.Strings(states)
	assert.Equal(t, []string{"HPUHighTemperature/pending", "HPUHot/firing"}, states)
}

// TestCapabilities: the metrics output passes batches on untouched unless alert_state_attributes marks
// them, so the fanout in front of it clones nothing otherwise.
func TestCapabilities(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	p := newPipeline(t, cfg, true, true)
	assert.False(t, p.instances[0].Capabilities().MutatesData)
	assert.False(t, p.instances[1].Capabilities().MutatesData)

	cfg = testConfig("testdata/semantics.rules.yaml")
	cfg.AlertStateAttributes = true
	p = newPipeline(t, cfg, true, false)
	require.True(t, p.instances[0].Capabilities().MutatesData)
	md := temperature(epoch, 91)
	p.consume(t, md)
	state, _ := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).Attributes().Get("alert.state")
	assert.Equal(t, "firing", state.Str(), "HPUHot fires at once and marks its point")
}

// TestDropsCountedPerClientAndResource: a batch from an OTLP client is attributed to the client's
// address and the resource's identity, in the dropped-samples counter as in the warnings.
func TestDropsCountedPerClientAndResource(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p := newPipelineWith(t, testConfig("testdata/semantics.rules.yaml"), true, false, tel.NewTelemetrySettings())
	ctx := client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 53211}})
	p.consumeCtx(t, ctx, temperature(epoch, 50))
	p.consumeCtx(t, ctx, temperature(epoch.Add(100*365*24*time.Hour), 50))
	p.consume(t, temperature(epoch.Add(-time.Hour), 50))

	m, err := tel.GetMetric("otelcol_connector_threshold_samples_dropped")
	require.NoError(t, err)
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value("reason")
		sender, _ := dp.Attributes.Value("sender")
		got[reason.AsString()+" "+sender.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{
		"future 10.1.2.3 service.name=gaudi service.instance.id=host1": 1,
		"too_old local service.name=gaudi service.instance.id=host1":   1,
	}, got)
}

// TestDropTotalsReportedOnTimer: after the first warning, drops within the minute are held back; the
// connector's own ticker logs their totals once the minute has passed on the wall clock (the factory's
// clock), with no new drop and no new data.
func TestDropTotalsReportedOnTimer(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.EvaluationInterval = time.Second // the ticker's period: min(evaluation_interval, 10s)
	cfg.Limits.MaxSeries = 1
	core, logs := observer.New(zap.WarnLevel)
	tel := componenttest.NewNopTelemetrySettings()
	tel.Logger = zap.New(core)
	p := newPipelineWith(t, cfg, true, false, tel)
	twoDevices := func(ts time.Time) pmetric.Metrics {
		md := temperature(ts, 50)
		dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints()
		dps.At(0).CopyTo(dps.AppendEmpty())
		dps.At(1).Attributes().PutInt("hpu.index", 1)
		return md
	}
	warnings := func() []map[string]any {
		var out []map[string]any
		for _, e := range logs.FilterMessage("Samples were not stored for rule evaluation").All() {
			out = append(out, e.ContextMap())
		}
		return out
	}
	const sender = "local service.name=gaudi service.instance.id=host1"
	p.consume(t, twoDevices(epoch))
	require.Len(t, warnings(), 1, "the first drop is logged at once")
	p.consume(t, twoDevices(epoch.Add(20*time.Second)))
	p.consume(t, twoDevices(epoch.Add(40*time.Second)))
	require.Len(t, warnings(), 1, "later drops within the minute wait")

	p.clock.Set(epoch.Add(61 * time.Second))
	require.Eventually(t, func() bool { return len(warnings()) == 2 }, 30*time.Second, 10*time.Millisecond,
		"the ticker reports the held-back drops once the minute has passed")
	assert.Equal(t, map[string]any{"series_limit": int64(2), "senders": []any{sender + " (series_limit 2)"}, "sender_count": int64(1),
		"series": int64(1), "max_series": int64(1), "since_last_warning": 61 * time.Second}, warnings()[1])
}

// blockingLogs holds every batch until release is closed, as a stalled logs backend would.
type blockingLogs struct {
	consumertest.LogsSink
	held    chan struct{}
	release chan struct{}
}

func (b *blockingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b.held <- struct{}{}
	<-b.release
	return b.LogsSink.ConsumeLogs(ctx, ld)
}

// TestBlockedOutputHoldsEvaluatingBatches: while the logs consumer blocks, the batch whose arrival ran
// an evaluation is not passed on until that evaluation's output is consumed, nor is a later batch that
// runs the next one; a batch that runs no evaluation is stored and passed on at once.
func TestBlockedOutputHoldsEvaluatingBatches(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	logs := &blockingLogs{held: make(chan struct{}, 4), release: make(chan struct{})}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p := newPipelineOn(t, cfg, true, true, tel.NewTelemetrySettings(), componenttest.NewNopHost(), logs)
	release := sync.OnceFunc(func() { close(logs.release) })
	t.Cleanup(release) // before the pipeline's shutdown, if the test stops early
	passed := func() (n int) {
		for _, md := range p.metrics.AllMetrics() {
			if md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name() != "ALERTS" {
				n++
			}
		}
		return n
	}
	var wg sync.WaitGroup
	// HPUHot fires at the evaluation at epoch, which this batch runs: its transition blocks.
	p.clock.Set(epoch.Add(20 * time.Second))
	wg.Go(func() { p.consumeCtx(t, context.Background(), temperature(epoch, 95)) })
	<-logs.held
	// 5 s later: no evaluation due, passed on while the first batch waits.
	p.consumeCtx(t, context.Background(), temperature(epoch.Add(5*time.Second), 95))
	assert.Equal(t, 1, passed())
	// 15 s: runs the next evaluation, whose output waits for the first one.
	wg.Go(func() { p.consumeCtx(t, context.Background(), temperature(epoch.Add(15*time.Second), 95)) })
	require.Eventually(t, func() bool {
		m, err := tel.GetMetric("otelcol_connector_threshold_evaluations")
		return err == nil && m.Data.(metricdata.Sum[int64]).DataPoints[0].Value == 2
	}, 10*time.Second, time.Millisecond, "the third batch ran the evaluation at 15 s")
	assert.Equal(t, 1, passed(), "the evaluating batches are held")
	release()
	wg.Wait()
	assert.Equal(t, 3, passed())
}

// TestTransitionsInEvaluationOrder: batches arrive concurrently, each making evaluations due; the
// transitions leave in the order the evaluations ran, whichever batch ran them. The sink's consumer
// yields while it holds a batch, which lets a later output overtake an earlier one if output is not
// ordered (most runs then fail; the rule engine's TestOutputInEvaluationOrder shows it every time).
// Run with -race.
func TestTransitionsInEvaluationOrder(t *testing.T) {
	cfg := testConfig("testdata/flapping.rules.yaml")
	cfg.IncludePending = true
	p := newPipeline(t, cfg, false, true)
	const senders, steps = 6, 60
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for k := range steps {
				ts := epoch.Add(time.Duration(k) * 15 * time.Second)
				// Every step flips the condition of the sender's device: a transition at every evaluation.
				md := temperature(ts, float64(80+20*(k%2)))
				md.ResourceMetrics().At(0).Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("host%d", s))
				p.consume(t, md)
			}
		})
	}
	wg.Wait()
	var times []time.Time
	for _, r := range p.records() {
		times = append(times, r.Timestamp().AsTime())
	}
	require.NotEmpty(t, times)
	assert.True(t, slices.IsSortedFunc(times, func(a, b time.Time) int { return a.Compare(b) }),
		"transitions out of evaluation order: %v", times)
}

// TestResourceFallsBackToTheCollector: an alert on series without job and instance (the gaudi
// receiver's) is filed under the collector that evaluated it; one with them keeps its own.
func TestResourceFallsBackToTheCollector(t *testing.T) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "otelcol-gaudi")
	res.Attributes().PutStr("service.instance.id", "node-7")
	self := collectorService(res)
	hpuAlert := ruleengine.Transition{State: ruleengine.StateFiring, Labels: ruleengine.Labels{{Name: "alertname", Value: "HPUDeviceFailed"}}}
	jobAlert := ruleengine.Transition{State: ruleengine.StateFiring, Labels: ruleengine.Labels{
		{Name: "alertname", Value: "TrainingStalled"}, {Name: "instance", Value: "rank-0"}, {Name: "job", Value: "ml/trainsim"}}}

	ld := toLogs([]ruleengine.Transition{hpuAlert, jobAlert}, false, self)
	require.Equal(t, 2, ld.ResourceLogs().Len())
	assert.Equal(t, map[string]any{"service.name": "otelcol-gaudi", "service.instance.id": "node-7"},
		ld.ResourceLogs().At(0).Resource().Attributes().AsRaw())
	assert.Equal(t, map[string]any{"service.namespace": "ml", "service.name": "trainsim", "service.instance.id": "rank-0"},
		ld.ResourceLogs().At(1).Resource().Attributes().AsRaw())
}

func TestToLogsIncludePending(t *testing.T) {
	for _, state := range []ruleengine.AlertState{ruleengine.StatePending, ruleengine.StateInactive} {
		ev := ruleengine.Transition{State: state}
		assert.Equal(t, 0, toLogs([]ruleengine.Transition{ev}, false, service{}).LogRecordCount(), state)
		assert.Equal(t, 1, toLogs([]ruleengine.Transition{ev}, true, service{}).LogRecordCount(), state)
	}
}

func TestBody(t *testing.T) {
	annotations := func(kv ...string) ruleengine.Labels {
		var ls ruleengine.Labels
		for i := 0; i+1 < len(kv); i += 2 {
			ls = append(ls, ruleengine.Label{Name: kv[i], Value: kv[i+1]})
		}
		return ls
	}
	name := ruleengine.Labels{{Name: "alertname", Value: "X"}}
	for _, tt := range []struct {
		ann  ruleengine.Labels
		want string
	}{
		{annotations("description", "d", "summary", "s"), "[FIRING] s: d"},
		{annotations("summary", "s"), "[FIRING] s"},
		{annotations("description", "d"), "[FIRING] d"},
		{nil, "[FIRING] X"},
	} {
		got := body(ruleengine.Transition{State: ruleengine.StateFiring, Labels: name, Annotations: tt.ann})
		assert.Equal(t, tt.want, got, strings.Join([]string{tt.ann.String()}, ""))
	}
}
