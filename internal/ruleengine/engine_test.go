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

// TestNoSenderControlsTime: points far ahead (a point from 2100, a stream 10 minutes ahead) are refused,
// and points ahead within max_future_skew are stored, yet nothing changes for honest senders: a node
// lagging a few seconds has its alert fire on time, no evaluation is skipped, none runs past the wall
// clock, a sender as late as the retention allows is stored (not too_old: the store's window covers
// retention + max_future_skew), and the refused points are counted against the client that sent them.
func TestNoSenderControlsTime(t *testing.T) {
	year2100 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name            string
		skew, retention time.Duration // 0: the defaults (1m, derived)
		// ahead are the offsets from the wall clock of mallory's points, one batch each per step.
		ahead      []time.Duration
		wantFuture int64
	}{
		{name: "default skew", ahead: []time.Duration{year2100.Sub(epoch), 10 * time.Minute, 30 * time.Second}, wantFuture: 22},
		{name: "skew at its bound", skew: maxFutureSkewBound, ahead: []time.Duration{time.Hour, time.Hour + time.Minute}, wantFuture: 11},
		{name: "retention beyond an hour", retention: 3 * time.Hour, ahead: []time.Duration{time.Minute, 2 * time.Minute}, wantFuture: 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("testdata/semantics.rules.yaml")
			if tc.skew != 0 {
				cfg.Limits.MaxFutureSkew = tc.skew
			}
			cfg.Limits.Retention = tc.retention
			require.NoError(t, cfg.Check())
			h := newHarness(t, cfg)
			retention := time.Duration(h.e.limits.retention) * time.Millisecond
			honest := map[string]any{"host.name": "node-1"}
			late := map[string]any{"service.instance.id": "late-node"}
			mallory := map[string]any{"service.name": "mallory", "service.instance.id": "m1"}
			const peer = "10.0.0.66"
			start := epoch.Add(4 * time.Hour)
			var now time.Time
			for k := 0; k <= 10; k++ {
				now = start.Add(time.Duration(k) * 15 * time.Second)
				h.clock.Set(now)
				// Mallory's stored point (within the skew) makes the evaluation at now due: the honest point,
				// 2 s old, arrives after it and is read from the next evaluation on.
				for _, d := range tc.ahead {
					h.consumeFrom(peer, hpuBatch(mallory, now.Add(d), 20))
				}
				h.consumeFrom("", hpuBatch(honest, now.Add(-2*time.Second), 87))
				h.consumeFrom("10.0.0.5", hpuBatch(late, now.Add(-(retention-time.Minute)), 20))
				assert.True(t, now.Equal(h.evaluatedTo()), "evaluated to %s at wall clock %s: evaluations follow the wall clock, not the skewed points", h.evaluatedTo(), now)
			}
			// HPUHighTemperature (for: 2m) on the honest node: pending from the first evaluation after its
			// first point, firing 2m later.
			assert.Empty(t, h.alertsAt(start))
			assert.Equal(t, []string{"HPUHighTemperature/pending{hpu_index=0,severity=critical}"}, h.alertsAt(start.Add(15*time.Second)))
			assert.Equal(t, []string{"HPUHighTemperature/firing{hpu_index=0,severity=critical}", "stale:HPUHighTemperature/pending{hpu_index=0,severity=critical}"},
				h.alertsAt(start.Add(135*time.Second)))
			assert.Zero(t, h.e.eval.skipped)
			assert.Equal(t, map[string]int64{"future 10.0.0.66 service.name=mallory service.instance.id=m1": tc.wantFuture}, h.dropped(),
				"only the points beyond max_future_skew are refused")
			vec, err := h.query(`hpu_temperature_celsius{instance="late-node"}`, now.Add(-(retention - time.Minute)))
			require.NoError(t, err)
			require.Len(t, vec, 1, "the late sender's points are stored")

			// The wider window does not keep data longer: once mallory's points and the alerts' stale
			// markers have left the retention, the head holds only the one series still sending.
			later := now.Add(cfg.Limits.MaxFutureSkew + retention + 7*time.Minute)
			h.clock.Set(later)
			h.consumeFrom("", hpuBatch(honest, later, 20))
			assert.Equal(t, later.Add(-retention).UnixMilli(), h.e.store.head.MinTime())
			assert.Equal(t, uint64(1), h.e.store.head.NumSeries())
			assert.Equal(t, 1, h.e.store.numSeries())
		})
	}
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
// max_series_per_sender series, a client address at most max_series_per_client over all its resources;
// OTLP clients together get at most max_series − reserved_local_series; the collector's own receivers
// can use the rest, whatever the clients send, even a client claiming a local receiver's identity. A
// sender's series return to its budget once they leave retention.
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
	assert.Len(t, h.e.store.senders.clients, 1)
	assert.Equal(t, 3, h.e.store.senders.networkSeries)

	// Per client, with the default budgets (max_series 1,000: 100 per sender, 800 for the clients, 200 per
	// client): one address making up 8 resources of 100 series each, every one within its sender's
	// budget, gets 200 series; another address's new series are still admitted.
	cfg = testConfig("testdata/semantics.rules.yaml")
	cfg.Limits.MaxSeries = 1000
	h = newHarness(t, cfg)
	md := pmetric.NewMetrics()
	for i := range 8 {
		floodBatch(res("service.instance.id", fmt.Sprint("forged-", i)), epoch, 100).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	h.consumeFrom("10.0.0.66", md)
	h.consumeFrom("10.0.0.7", floodBatch(res("service.name", "trainer"), epoch, 100))
	drops := h.dropped()
	var total int64
	for k, n := range drops {
		assert.True(t, strings.HasPrefix(k, "client_series_limit 10.0.0.66 service.instance.id=forged-"), k)
		total += n
	}
	assert.Equal(t, int64(600), total)
	assert.Equal(t, 300, h.e.store.numSeries(), "200 from the forging client, 100 from the other")
	assert.Equal(t, 200, h.e.store.senders.clients["10.0.0.66"])
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
