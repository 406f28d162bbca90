package ruleengine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"
)

// hpuBatch is hpu.temperature of one device from a resource with the given attributes.
func hpuBatch(res map[string]any, ts time.Time, v float64) pmetric.Metrics {
	md := gaugeBatch("hpu.temperature", "Cel", ts, point{map[string]any{"hpu.index": int64(0)}, v})
	_ = md.ResourceMetrics().At(0).Resource().Attributes().FromRaw(res)
	return md
}

// floodBatch is n series of one resource, each a device of its own.
func floodBatch(res map[string]any, ts time.Time, n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(res)
	dps := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints()
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).SetName("flood")
	for i := range n {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(1)
		dp.Attributes().PutInt("i", int64(i))
	}
	return md
}

func (h *harness) evaluatedTo() time.Time {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	return h.e.evaluatedTo
}

// TestOutputInEvaluationOrder: the output of an evaluation that ran later waits for the output of the
// one before, however the batches that ran them interleave. Batch A's output is held until batch B has
// evaluated the next instant; B's output must still come second.
func TestOutputInEvaluationOrder(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []time.Time
	clock := enginetest.NewClock(epoch.Add(15 * time.Second))
	e, err := New(testConfig("testdata/semantics.rules.yaml"), Settings{Clock: clock.Now, Output: func(_ context.Context, r Result) {
		if r.Evaluations[0].Time.Equal(epoch) {
			close(started)
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range r.Evaluations {
			order = append(order, ev.Time)
		}
	}})
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, e.Close(context.Background())) })

	dev := map[string]any{"hpu.index": int64(0)}
	var wg sync.WaitGroup
	wg.Go(func() {
		assert.NoError(t, e.Ingest(context.Background(), gaugeBatch("hpu.temperature", "Cel", epoch, point{dev, 91}), ""))
	})
	<-started
	wg.Go(func() {
		assert.NoError(t, e.Ingest(context.Background(), gaugeBatch("hpu.temperature", "Cel", epoch.Add(15*time.Second), point{dev, 91}), ""))
	})
	require.Eventually(t, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return !e.evaluatedTo.Before(epoch.Add(15 * time.Second))
	}, 10*time.Second, time.Millisecond, "batch B evaluates while A's output is held")
	close(release)
	wg.Wait()
	assert.Equal(t, []time.Time{epoch, epoch.Add(15 * time.Second)}, order)
}

// TestNoSenderControlsTime: a point from 2100, a stream 10 minutes ahead and a stream 30 s ahead (within
// max_future_skew) from one client change nothing for an honest node: its alert fires on time, no
// evaluation is skipped, none runs past the wall clock, and the refused points are counted against
// the client that sent them.
func TestNoSenderControlsTime(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	honest := map[string]any{"host.name": "node-1"}
	mallory := map[string]any{"service.name": "mallory", "service.instance.id": "m1"}
	const peer = "10.0.0.66"
	start := epoch.Add(time.Hour)
	for k := 0; k <= 10; k++ {
		now := start.Add(time.Duration(k) * 15 * time.Second)
		h.clock.Set(now)
		h.consume(hpuBatch(honest, now, 87))
		h.consumeFrom(peer, hpuBatch(mallory, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 20))
		h.consumeFrom(peer, hpuBatch(mallory, now.Add(10*time.Minute), 20))
		h.consumeFrom(peer, hpuBatch(mallory, now.Add(30*time.Second), 20))
		assert.True(t, now.Equal(h.evaluatedTo()), "evaluated to %s at wall clock %s: evaluations follow the wall clock, not the skewed points", h.evaluatedTo(), now)
	}
	// HPUHighTemperature (for: 2m) on the honest node: pending from the first evaluation, firing 2m later.
	assert.Equal(t, []string{"HPUHighTemperature/pending{hpu_index=0,severity=critical}"}, h.alertsAt(start))
	assert.Equal(t, []string{"HPUHighTemperature/firing{hpu_index=0,severity=critical}", "stale:HPUHighTemperature/pending{hpu_index=0,severity=critical}"},
		h.alertsAt(start.Add(2*time.Minute)))
	assert.Zero(t, h.e.eval.skipped)
	assert.Equal(t, map[string]int64{"future 10.0.0.66 service.name=mallory service.instance.id=m1": 22}, h.dropped(),
		"the 2100 and +10 min points; the +30 s ones are stored")
}

// TestOldPointsAreRefused: a point older than the retention before the wall clock (OTLP's unset
// timestamp, 0, among them) is refused as too old; it cannot reach an evaluation anyway.
func TestOldPointsAreRefused(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	h.clock.Set(epoch)
	dev := map[string]any{"hpu.index": int64(0)}
	h.consume(gaugeBatch("hpu.temperature", "Cel", time.Unix(0, 0), point{dev, 99}))
	h.consume(gaugeBatch("hpu.temperature", "Cel", epoch.Add(-time.Hour), point{dev, 99}))
	assert.Equal(t, map[string]int64{"too_old local": 2}, h.dropped())
	assert.Empty(t, h.alertsAt(epoch))
}

// TestSenderBudgets: a sender (client address and resource identity) gets at most
// max_series_per_sender series; OTLP clients together get at most max_series − reserved_local_series;
// the collector's own receivers can use the rest, whatever the clients send, even a client claiming a
// local receiver's identity. A sender's series return to its budget once they leave retention.
func TestSenderBudgets(t *testing.T) {
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Limits.MaxSeries = 10
	cfg.Limits.MaxSeriesPerSender = 3
	cfg.Limits.ReservedLocalSeries = 4
	h := newHarness(t, cfg)
	res := func(k, v string) map[string]any { return map[string]any{k: v} }
	h.consumeFrom("10.0.0.1", floodBatch(res("service.name", "a"), epoch, 8))
	h.consumeFrom("10.0.0.2", floodBatch(res("service.name", "b"), epoch, 3))
	h.consumeFrom("10.0.0.3", floodBatch(res("service.name", "c"), epoch, 3))
	h.consumeFrom("10.0.0.4", floodBatch(res("service.instance.id", "node-1"), epoch, 3))
	h.consume(floodBatch(res("service.instance.id", "node-1"), epoch, 5))
	h.consume(floodBatch(res("service.instance.id", "node-2"), epoch, 3))
	assert.Equal(t, map[string]int64{
		"sender_series_limit 10.0.0.1 service.name=a":          5,
		"series_limit 10.0.0.3 service.name=c":                 3, // the clients' 6 series are taken
		"series_limit 10.0.0.4 service.instance.id=node-1":     3, // a client is not the local receiver it claims to be
		"sender_series_limit local service.instance.id=node-1": 2, // the collector's own receivers are sender-bounded too
		"series_limit local service.instance.id=node-2":        2, // max_series reached
	}, h.dropped())
	assert.Equal(t, 10, h.e.store.numSeries(), "3 + 3 from clients, 3 + 1 local")

	// Ten minutes later the flood has left retention; only node-1 still sends, and a's budget is back.
	later := epoch.Add(10 * time.Minute)
	h.consume(floodBatch(res("service.instance.id", "node-1"), later, 1))
	h.consumeFrom("10.0.0.1", floodBatch(res("service.name", "a"), later.Add(time.Second), 3))
	assert.Equal(t, 4, h.e.store.numSeries())
	assert.Len(t, h.e.store.senders.byKey, 2)
	assert.Equal(t, 3, h.e.store.senders.networkSeries)
}

// TestSenderLabelsBounded: however many senders lose samples, the sender label takes at most
// maxSenderLabels values; the others are counted as one.
func TestSenderLabelsBounded(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	for i := range maxSenderLabels + 50 {
		h.consumeFrom("10.0.0.9", hpuBatch(map[string]any{"service.instance.id": fmt.Sprint(i)}, epoch.Add(time.Hour), 1))
	}
	drops := h.dropped()
	assert.Len(t, drops, maxSenderLabels+1)
	assert.Equal(t, int64(50), drops["future other"])
	assert.Len(t, h.e.tel.dropAttrs, maxSenderLabels+1)
}

// TestSenderNamesBounded: a sender's name cuts attribute values from clients to a bounded length.
func TestSenderNamesBounded(t *testing.T) {
	res := pcommon.NewMap()
	res.PutStr("service.name", strings.Repeat("x", 1000)+"é")
	res.PutInt("host.name", 7)
	assert.Equal(t, "10.0.0.1 service.name="+strings.Repeat("x", maxSenderValueLen)+"… host.name=7", senderName("10.0.0.1", res))
	assert.Equal(t, "local", senderName("", pcommon.NewMap()))
}

// TestStaleChunkDirsRemoved: a start removes the store directories that no process holds (a collector
// killed before its shutdown leaves one) and leaves those in use alone.
func TestStaleChunkDirsRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	live, err := newChunkDir(zap.NewNop())
	require.NoError(t, err)
	killed, err := newChunkDir(zap.NewNop())
	require.NoError(t, err)
	// A killed process's lock is released by the kernel; the directory stays.
	require.NoError(t, killed.lock.Close())
	foreign := filepath.Join(tmp, chunkDirPrefix+"no-lock")
	require.NoError(t, os.Mkdir(foreign, 0o700))

	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	assert.NoDirExists(t, killed.path)
	assert.DirExists(t, live.path)
	assert.DirExists(t, foreign, "not ours: no lock file")
	assert.DirExists(t, h.e.store.dir.path)
	require.NoError(t, live.remove())

	require.NoError(t, h.e.Close(context.Background()))
	assert.NoDirExists(t, h.e.store.dir.path)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, filepath.Base(foreign), entries[0].Name())
}

// TestGroupIntervalBounds: a group's own interval is bounded like evaluation_interval.
func TestGroupIntervalBounds(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fast.rules.yaml")
	require.NoError(t, os.WriteFile(file, []byte("groups:\n  - name: fast\n    interval: 1ms\n    rules:\n      - alert: A\n        expr: up == 0\n"), 0o600))
	cfg := testConfig(file)
	require.ErrorContains(t, cfg.Check(), `group "fast": interval must be between 1s and 24h0m0s, got 1ms`)
}

// FuzzSenderName: whatever a client puts in its resource, a sender's name is valid UTF-8 of bounded
// length (it becomes a telemetry label value and a log field).
func FuzzSenderName(f *testing.F) {
	f.Add("10.0.0.1", "trainer", "rank-0", "node-1")
	f.Add("", strings.Repeat("é", 100), "\xff\xfe", "")
	f.Add("::1", "a\x00b", strings.Repeat("x", 70), "\u2028")
	f.Fuzz(func(t *testing.T, peer, name, instance, host string) {
		res := pcommon.NewMap()
		res.PutStr("service.name", name)
		res.PutStr("service.instance.id", instance)
		res.PutStr("host.name", host)
		got := senderName(peer, res)
		if !utf8.ValidString(got) {
			t.Fatalf("senderName: invalid UTF-8 %q", got)
		}
		// The address and three values, each at most maxSenderValueLen bytes plus "…" (each byte of
		// invalid UTF-8 replaced by 3), with their keys.
		if limit := 4*(3*maxSenderValueLen+len("…")) + len(" service.name= service.instance.id= host.name="); len(got) > limit {
			t.Fatalf("senderName: %d bytes, want at most %d", len(got), limit)
		}
	})
}
