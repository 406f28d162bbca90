package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// memLogs is an in-memory log exporter: the SDK's records as the OTLP exporter would get them.
type memLogs struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (m *memLogs) Export(_ context.Context, records []sdklog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range records {
		m.records = append(m.records, r.Clone())
	}
	return nil
}

func (*memLogs) Shutdown(context.Context) error   { return nil }
func (*memLogs) ForceFlush(context.Context) error { return nil }

func (m *memLogs) all() []sdklog.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.records)
}

// bodies returns the bodies of the records so far.
func (m *memLogs) bodies() []string {
	var out []string
	for _, r := range m.all() {
		out = append(out, r.Body().AsString())
	}
	return out
}

// testRank is a rank wired to the SDK's in-memory reader and exporter, with a clock that does not wait.
type testRank struct {
	*rank
	reader   *sdkmetric.ManualReader
	meters   *sdkmetric.MeterProvider
	logs     *memLogs
	silenced chan struct{} // closed when the rank silences its telemetry
}

// testConfig is a valid configuration for unit tests: short batches, everything else default.
func testConfig(t *testing.T, args ...string) config {
	t.Helper()
	c, err := parseConfig(append([]string{"-interval", "100ms"}, args...), func(string) string { return "" }, testWriter{t})
	require.NoError(t, err)
	return c
}

func newTestRank(t *testing.T, c config, id identity) *testRank {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(id.resource()))
	logs := &memLogs{}
	loggers := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(logs)), sdklog.WithResource(id.resource()))
	t.Cleanup(func() {
		_ = meters.Shutdown(context.Background())
		_ = loggers.Shutdown(context.Background())
	})
	inst, err := newInstruments(meters.Meter(scopeName))
	require.NoError(t, err)
	tr := &testRank{reader: reader, meters: meters, logs: logs, silenced: make(chan struct{})}
	tr.rank = newRank(c, id, rankDeps{
		inst: inst,
		logs: logSink{logger: loggers.Logger(loggerName)},
		wait: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		silence: func(ctx context.Context) error {
			close(tr.silenced)
			return meters.Shutdown(ctx)
		},
		now: time.Now,
	})
	return tr
}

// collect reads the rank's metrics once, as the periodic reader would before an export.
func (tr *testRank) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tr.reader.Collect(context.Background(), &rm))
	return rm
}

// metricsByName indexes the collected metrics by name.
func metricsByName(rm metricdata.ResourceMetrics) map[string]metricdata.Metrics {
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// gaugeValue is the single value of a float gauge.
func gaugeValue(t *testing.T, m metricdata.Metrics) float64 {
	t.Helper()
	g, ok := m.Data.(metricdata.Gauge[float64])
	require.True(t, ok, "%s is a %T, want a float64 gauge", m.Name, m.Data)
	require.Len(t, g.DataPoints, 1, "%s", m.Name)
	return g.DataPoints[0].Value
}

// counterValue is the single value of an int counter.
func counterValue(t *testing.T, m metricdata.Metrics) int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T, want an int64 sum", m.Name, m.Data)
	require.Len(t, s.DataPoints, 1, "%s", m.Name)
	return s.DataPoints[0].Value
}

// attrs returns a record's attributes as a map.
func attrs(r sdklog.Record) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		out[kv.Key] = kv.Value
		return true
	})
	return out
}

// testWriter sends flag usage output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// testIdentity is rank 3 of an 8-rank job on one node, using module 5 and index 3.
func testIdentity() identity {
	return identity{serviceName: "trainsim", jobID: "job-1", host: "node-a", rank: 3, localRank: 3, worldSize: 8, moduleID: 5, hpuIndex: 3}
}

// attrValue is the string form of key in kvs, or "" when absent.
func attrValue(kvs []attribute.KeyValue, key attribute.Key) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
