package hpujobprocessor

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

// testHost is the node the tests' gaudi receiver runs on (the processor's host_name).
const testHost = "node-1"

var testStart = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: testStart} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testDevice is one HPU of a hand-built gaudi receiver batch. Module ids differ from indexes, as on
// real HLS boards.
type testDevice struct {
	index, module     int64
	uuid, serial, pci string
}

// testDevices are eight Gaudi 3 devices; index i sits in OAM slot testModules[i].
var testModules = [8]int64{5, 2, 7, 0, 3, 6, 1, 4}

func testDevices(n int) []testDevice {
	devs := make([]testDevice, n)
	for i := range devs {
		devs[i] = testDevice{index: int64(i), module: testModules[i], uuid: fmt.Sprintf("01P4-HL3090A0-18-U4V1%02d-22-07-00", i),
			serial: fmt.Sprintf("AN%08d", 31415900+i), pci: fmt.Sprintf("0000:%02x:00.0", 0x19+i)}
	}
	return devs
}

func indexOfModule(module int64) int64 {
	for i, m := range testModules {
		if m == module {
			return int64(i)
		}
	}
	panic(module)
}

// gaudiBatch builds a batch in the gaudi receiver's shape: an empty resource (or one with host.name, as a
// gateway sees it after resource detection), the receiver's scope, device metrics of every point type it
// uses, hpu.info last, and the self-metrics without hpu.index.
func gaudiBatch(resourceHost string, devs []testDevice) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	if resourceHost != "" {
		rm.Resource().Attributes().PutStr(attrHostName, resourceHost)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(gaudiReceiverScope)
	sm.Scope().SetVersion("0.1.0")
	ts := pcommon.NewTimestampFromTime(testStart)
	device := func(dp pmetric.NumberDataPoint, d testDevice) {
		dp.SetTimestamp(ts)
		dp.Attributes().PutInt(attrIndex, d.index)
		dp.Attributes().PutStr(attrUUID, d.uuid)
	}
	util := sm.Metrics().AppendEmpty()
	util.SetName("hpu.utilization")
	util.SetUnit("%")
	util.SetEmptyGauge()
	for _, d := range devs {
		dp := util.Gauge().DataPoints().AppendEmpty()
		device(dp, d)
		dp.SetDoubleValue(80 + float64(d.index))
	}
	temp := sm.Metrics().AppendEmpty()
	temp.SetName("hpu.temperature")
	temp.SetUnit("Cel")
	temp.SetEmptyGauge()
	for _, d := range devs {
		for _, sensor := range []string{"on_chip", "on_board"} {
			dp := temp.Gauge().DataPoints().AppendEmpty()
			device(dp, d)
			dp.Attributes().PutStr("hpu.sensor", sensor)
			dp.SetDoubleValue(45)
		}
	}
	energy := sm.Metrics().AppendEmpty()
	energy.SetName("hpu.energy")
	energy.SetUnit("J")
	sum := energy.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, d := range devs {
		dp := sum.DataPoints().AppendEmpty()
		device(dp, d)
		dp.SetStartTimestamp(ts - 3600e9)
		dp.SetDoubleValue(1e6)
	}
	info := sm.Metrics().AppendEmpty()
	info.SetName(metricInfo)
	info.SetUnit("{info}")
	info.SetEmptyGauge()
	for _, d := range devs {
		dp := info.Gauge().DataPoints().AppendEmpty()
		device(dp, d)
		dp.Attributes().PutStr("hpu.model", "HL-325L")
		dp.Attributes().PutInt(attrModuleID, d.module)
		dp.Attributes().PutStr(attrSerial, d.serial)
		dp.Attributes().PutStr(attrPCIBusID, d.pci)
		dp.SetIntValue(1)
	}
	for _, name := range []string{"hpu.scrape.duration", "hpu.devices"} {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.Attributes().PutStr("hpu.source", "simulator")
		dp.SetIntValue(int64(len(devs)))
	}
	return md
}

// jobBatch builds one rank's OTLP metrics as an OpenTelemetry SDK sends them (trainsim's shape): the
// given resource attributes, the job's own scope and a gauge, a cumulative sum and a histogram.
func jobBatch(res map[string]any) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	raw := map[string]any{"service.name": "trainsim"}
	for k, v := range res {
		raw[k] = v
	}
	if err := rm.Resource().Attributes().FromRaw(raw); err != nil {
		panic(err)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("trainsim")
	ts := pcommon.NewTimestampFromTime(testStart)
	loss := sm.Metrics().AppendEmpty()
	loss.SetName("training.loss")
	dp := loss.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(2.31)
	steps := sm.Metrics().AppendEmpty()
	steps.SetName("training.steps")
	s := steps.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sdp := s.DataPoints().AppendEmpty()
	sdp.SetStartTimestamp(ts - 60e9)
	sdp.SetTimestamp(ts)
	sdp.SetIntValue(120)
	dur := sm.Metrics().AppendEmpty()
	dur.SetName("training.step.duration")
	dur.SetUnit("s")
	h := dur.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hdp := h.DataPoints().AppendEmpty()
	hdp.SetStartTimestamp(ts - 60e9)
	hdp.SetTimestamp(ts)
	hdp.SetCount(120)
	hdp.SetSum(60)
	hdp.ExplicitBounds().FromRaw([]float64{0.25, 0.5, 1})
	hdp.BucketCounts().FromRaw([]uint64{10, 100, 10, 0})
	return md
}

// rankRes is the resource of one rank of job on host using module (from HABANA_VISIBLE_MODULES).
func rankRes(job string, rank, localRank int, host string, module int64) map[string]any {
	return map[string]any{
		attrJobID: job, attrRank: int64(rank), attrLocalRank: int64(localRank), "training.world_size": int64(16),
		attrHostName: host, attrModuleID: module,
	}
}

type testProcessor struct {
	proc  processor.Metrics
	p     *hpuJobProcessor
	sink  *consumertest.MetricsSink
	clock *fakeClock
	logs  *observer.ObservedLogs
	tel   *componenttest.Telemetry
}

// testConfig is the default configuration on testHost, without the kubelet: the machine running the
// tests may be a Kubernetes node.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.HostName = testHost
	cfg.Kubelet.Enabled = false
	return cfg
}

func newTestProcessor(t testing.TB, cfg *Config) *testProcessor {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	set.TelemetrySettings.MeterProvider = tel.NewTelemetrySettings().MeterProvider
	clock := newFakeClock()
	p, err := newHPUJobProcessor(cfg, set.TelemetrySettings, clock.now, func() (string, error) { return "os-host", nil })
	require.NoError(t, err)
	sink := new(consumertest.MetricsSink)
	proc, err := newMetricsProcessor(context.Background(), set, cfg, sink, p)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, proc.Shutdown(context.Background())) })
	return &testProcessor{proc: proc, p: p, sink: sink, clock: clock, logs: logs, tel: tel}
}

func (tp *testProcessor) send(t testing.TB, mds ...pmetric.Metrics) {
	t.Helper()
	for _, md := range mds {
		require.NoError(t, tp.proc.ConsumeMetrics(context.Background(), md))
	}
}

// last returns the last batch the processor passed on.
func (tp *testProcessor) last(t testing.TB) pmetric.Metrics {
	t.Helper()
	all := tp.sink.AllMetrics()
	require.NotEmpty(t, all)
	return all[len(all)-1]
}

// deviceLabels returns, per hpu.index of the batch's gaudi points, the job attributes its points carry as
// "job/rank" ("" when none). It fails if the points of one device disagree, or if a point without
// hpu.index (self-metrics) carries job attributes.
func deviceLabels(t testing.TB, md pmetric.Metrics) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	seen := map[int64]bool{}
	forEachGaudiPoint(md, func(metric string, attrs pcommon.Map) {
		label := ""
		if j, ok := attrs.Get(attrJobID); ok {
			label = j.AsString() + "/"
			if r, ok := attrs.Get(attrRank); ok {
				label += r.AsString()
			}
		}
		idx, ok := attrs.Get(attrIndex)
		if !ok {
			require.Emptyf(t, label, "%s has no hpu.index but carries %q", metric, label)
			return
		}
		i := idx.Int()
		if seen[i] {
			require.Equalf(t, out[i], label, "points of device %d disagree (%s)", i, metric)
		}
		seen[i] = true
		out[i] = label
	})
	return out
}

func forEachGaudiPoint(md pmetric.Metrics, f func(metric string, attrs pcommon.Map)) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			if sms.At(j).Scope().Name() != gaudiReceiverScope {
				continue
			}
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					for l := range m.Gauge().DataPoints().Len() {
						f(m.Name(), m.Gauge().DataPoints().At(l).Attributes())
					}
				case pmetric.MetricTypeSum:
					for l := range m.Sum().DataPoints().Len() {
						f(m.Name(), m.Sum().DataPoints().At(l).Attributes())
					}
				case pmetric.MetricTypeHistogram:
					for l := range m.Histogram().DataPoints().Len() {
						f(m.Name(), m.Histogram().DataPoints().At(l).Attributes())
					}
				}
			}
		}
	}
}

// annotated lists the devices with job attributes as "index=job/rank", sorted, for readable failures.
func annotated(t testing.TB, md pmetric.Metrics) []string {
	t.Helper()
	var out []string
	for idx, l := range deviceLabels(t, md) {
		if l != "" {
			out = append(out, fmt.Sprintf("%d=%s", idx, l))
		}
	}
	sort.Strings(out)
	return out
}

// counter returns the sum of a self-telemetry counter's points whose attribute key has value (any point
// when key is empty); 0 if the metric was never recorded.
func (tp *testProcessor) counter(t testing.TB, name, key, value string) int64 {
	t.Helper()
	return counterValue(t, tp.tel, name, key, value)
}

func counterValue(t testing.TB, tel *componenttest.Telemetry, name, key, value string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.Truef(t, ok, "%s is a %T", name, m.Data)
	var n int64
	for _, dp := range sum.DataPoints {
		if v, ok := dp.Attributes.Value(attribute.Key(key)); key == "" || (ok && v.AsString() == value) {
			n += dp.Value
		}
	}
	return n
}

func gaugeValue(t testing.TB, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.Truef(t, ok, "%s is a %T", name, m.Data)
	require.Len(t, g.DataPoints, 1)
	return g.DataPoints[0].Value
}
