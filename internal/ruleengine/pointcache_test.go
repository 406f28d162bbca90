package ruleengine

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// tempPoint is one hpu.temperature point with its resource attributes and data point attributes.
type tempPoint struct {
	resource map[string]any
	attrs    map[string]any
	value    float64
}

func tempBatch(t *testing.T, ts time.Time, pts ...tempPoint) pmetric.Metrics {
	t.Helper()
	md := pmetric.NewMetrics()
	for _, p := range pts {
		rm := md.ResourceMetrics().AppendEmpty()
		putSorted(t, rm.Resource().Attributes(), p.resource)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("gaudireceiver")
		m := sm.Metrics().AppendEmpty()
		m.SetName("hpu.temperature")
		m.SetUnit("Cel")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(p.value)
		putSorted(t, dp.Attributes(), p.attrs)
	}
	return md
}

// putSorted sets attributes in key order. Map.FromRaw follows Go's random map order, which would give the
// same attributes a different identity, and so another cache entry, from batch to batch.
func putSorted(t *testing.T, m pcommon.Map, raw map[string]any) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		require.NoError(t, m.PutEmpty(k).FromRaw(raw[k]))
	}
}

func (h *harness) queryLabels(expr string, ts time.Time) []labels.Labels {
	h.t.Helper()
	vec, err := h.query(expr, ts)
	require.NoError(h.t, err)
	out := make([]labels.Labels, 0, len(vec))
	for _, s := range vec {
		out = append(out, s.Metric)
	}
	return out
}

var node1 = map[string]any{"service.name": "gaudi", "service.instance.id": "node-1"}

// TestChangedIdentityIsANewSeries: a point whose resource or attributes change is looked up afresh, so a
// change that alters the labels makes a new series and one that does not finds the same series.
func TestChangedIdentityIsANewSeries(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	dev := map[string]any{"hpu.index": int64(0)}
	h.consume(tempBatch(t, epoch, tempPoint{node1, dev, 50}))
	h.consume(tempBatch(t, epoch.Add(15*time.Second), tempPoint{node1, dev, 51}))
	require.Len(t, h.e.store.points, 1, "a repeated point reuses its entry")

	// Another instance: new labels, a new series.
	node2 := map[string]any{"service.name": "gaudi", "service.instance.id": "node-2"}
	h.consume(tempBatch(t, epoch.Add(30*time.Second), tempPoint{node2, dev, 52}))
	// A resource attribute that becomes no label, and an attribute whose type changes but whose label
	// value does not: same labels, so the sample joins node-1's series.
	node1Host := map[string]any{"service.name": "gaudi", "service.instance.id": "node-1", "host.name": "h1"}
	h.consume(tempBatch(t, epoch.Add(45*time.Second), tempPoint{node1Host, map[string]any{"hpu.index": "0"}, 53}))

	at := epoch.Add(45 * time.Second)
	assert.Equal(t, []labels.Labels{
		labels.FromStrings("hpu_index", "0", "instance", "node-1", "job", "gaudi", "otel_scope_name", "gaudireceiver"),
		labels.FromStrings("hpu_index", "0", "instance", "node-2", "job", "gaudi", "otel_scope_name", "gaudireceiver"),
	}, h.queryLabels("count_over_time(hpu_temperature_celsius[5m])", at))
	vec, err := h.query(`count_over_time(hpu_temperature_celsius{instance="node-1"}[5m])`, at)
	require.NoError(t, err)
	require.Len(t, vec, 1)
	assert.Equal(t, 3.0, vec[0].F, "the samples at 0s, 15s and 45s")
	assert.Equal(t, 2, h.e.store.numSeries())
	assert.Len(t, h.e.store.points, 3, "three identities, two series")
}

// TestPointCacheForgetsWhatLeftRetention: identities that stored nothing within retention are dropped
// with their series, and so is an identity that stopped while its series lives on through another.
func TestPointCacheForgetsWhatLeftRetention(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	retention := time.Duration(h.e.limits.retention) * time.Millisecond
	dev0, dev1 := map[string]any{"hpu.index": int64(0)}, map[string]any{"hpu.index": int64(1)}
	withHost := map[string]any{"service.name": "gaudi", "service.instance.id": "node-1", "host.name": "h1"}
	h.consume(tempBatch(t, epoch, tempPoint{node1, dev0, 50}, tempPoint{node1, dev1, 50}))
	// dev0 continues under another identity with the same labels; dev1 stops.
	var last time.Time
	for ts := epoch.Add(15 * time.Second); ts.Before(epoch.Add(retention + time.Minute)); ts = ts.Add(15 * time.Second) {
		h.consume(tempBatch(t, ts, tempPoint{withHost, dev0, 50}))
		last = ts
	}
	assert.Equal(t, 1, h.e.store.numSeries(), "dev1's series left retention")
	require.Len(t, h.e.store.points, 1, "only the identity still sending is cached")
	for _, e := range h.e.store.points {
		assert.Equal(t, last.UnixMilli(), e.lastT)
		assert.Equal(t, "0", e.st.lset.Get("hpu_index"))
	}

	// dev1 comes back: a new series, cached again.
	h.consume(tempBatch(t, last.Add(15*time.Second), tempPoint{node1, dev1, 50}))
	assert.Equal(t, 2, h.e.store.numSeries())
	assert.Len(t, h.e.store.points, 2)
}

// TestPointCacheIsBoundedByMaxSeries: the cache never holds more identities than max_series; points of
// identities it has no room for are still stored, through the uncached path.
func TestPointCacheIsBoundedByMaxSeries(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Limits.MaxSeries = 2
	cfg.Limits.MaxSeriesPerSender = 2
	h := newHarness(t, cfg)
	dev := func(i int64) map[string]any { return map[string]any{"hpu.index": i} }
	h.consume(tempBatch(t, epoch, tempPoint{node1, dev(0), 50}, tempPoint{node1, dev(1), 50}, tempPoint{node1, dev(2), 50}))
	assert.Equal(t, 2, h.e.store.numSeries())
	assert.Len(t, h.e.store.points, 2, "the refused series is not cached")

	// Two more identities of the stored series: the cache is full, yet their samples are stored.
	withHost := func(host string) map[string]any {
		return map[string]any{"service.name": "gaudi", "service.instance.id": "node-1", "host.name": host}
	}
	for k, host := range []string{"h1", "h2"} {
		ts := epoch.Add(time.Duration(k+1) * 15 * time.Second)
		h.consume(tempBatch(t, ts, tempPoint{withHost(host), dev(0), 50}, tempPoint{withHost(host), dev(1), 50}))
	}
	assert.Len(t, h.e.store.points, 2)
	vec, err := h.query("count_over_time(hpu_temperature_celsius[5m])", epoch.Add(30*time.Second))
	require.NoError(t, err)
	require.Len(t, vec, 2)
	for _, s := range vec {
		assert.Equal(t, 3.0, s.F, "samples at 0s, 15s and 30s")
	}
}
