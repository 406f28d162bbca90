package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// values returns every gauge and counter value of a collection, by metric name.
func values(t *testing.T, rm metricdata.ResourceMetrics) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, m := range metricsByName(rm) {
		switch m.Data.(type) {
		case metricdata.Gauge[float64]:
			out[name] = gaugeValue(t, m)
		case metricdata.Sum[int64]:
			out[name] = float64(counterValue(t, m))
		}
	}
	return out
}

func TestStepsCountersAndLogs(t *testing.T) {
	c := testConfig(t, "-steps", "25", "-batch-size", "16", "-seq-len", "512", "-log-every", "10", "-eval-every", "20")
	tr := newTestRank(t, c, testIdentity())
	require.NoError(t, tr.run(context.Background()))

	v := values(t, tr.collect(t))
	assert.Equal(t, float64(25*16), v[metricSamples])
	assert.Equal(t, float64(25*16*512), v[metricTokens])
	assert.InDelta(t, 0.1, v[metricBatchDuration], 0.1*2*phaseJitter, "batch time near -interval")
	assert.InDelta(t, v[metricBatchDuration],
		v[metricForwardDuration]+v[metricBackwardDuration]+v[metricOptimizerDuration], 0.1*(loadShare+phaseJitter),
		"forward+backward+optimizer make up the batch, but for data loading")
	assert.InDelta(t, 16/v[metricBatchDuration], v[metricSamplesThroughput], 1e-9)
	assert.InDelta(t, 16*512/v[metricBatchDuration], v[metricTokensThroughput], 1e-6)
	for _, name := range []string{metricAccuracy, metricValidationAcc} {
		assert.True(t, v[name] >= 0 && v[name] <= 1, "%s = %v, want a fraction", name, v[name])
	}

	// start, validation before batch 1, progress after 10 and 20, validation after 20, end.
	assert.Equal(t, []string{
		"Training started: rank 3 of 8, job job-1",
		"Validation after batch 0: loss " + fmt.Sprintf("%.4f", tr.logsValidationLoss(t, 0)) + ", accuracy " + fmt.Sprintf("%.4f", tr.logsValidationAcc(t, 0)),
	}, tr.logs.bodies()[:2])
	bodies := tr.logs.bodies()
	require.Len(t, bodies, 6, "%q", bodies)
	assert.Regexp(t, `^Batch 10: loss \d\.\d{4}, accuracy \d\.\d{4}, \d+\.\d samples/s$`, bodies[2])
	assert.Regexp(t, `^Batch 20: `, bodies[3])
	assert.Regexp(t, `^Validation after batch 20: `, bodies[4])
	assert.Equal(t, "Training finished after 25 batches", bodies[5])
}

// logsValidationLoss and logsValidationAcc recompute the validation pass of a fresh model at step:
// it is the first thing the model draws, so a new model with the same seed reproduces it.
func (tr *testRank) logsValidationLoss(t *testing.T, step int) float64 {
	t.Helper()
	return newModel(tr.cfg.seed, tr.id.rank).validation(step).loss
}

func (tr *testRank) logsValidationAcc(t *testing.T, step int) float64 {
	t.Helper()
	return newModel(tr.cfg.seed, tr.id.rank).validation(step).accuracy
}

func TestLogRecordFields(t *testing.T) {
	tr := newTestRank(t, testConfig(t, "-steps", "10", "-log-every", "10"), testIdentity())
	require.NoError(t, tr.run(context.Background()))
	records := tr.logs.all()
	require.Len(t, records, 4)
	progress := records[2]
	assert.Equal(t, loggerName, progress.InstrumentationScope().Name, "the logger is the scope")
	assert.Equal(t, log.SeverityInfo, progress.Severity())
	assert.Equal(t, "INFO", progress.SeverityText())
	assert.False(t, progress.Timestamp().IsZero())
	a := attrs(progress)
	assert.Equal(t, "trainer.train_step", a["code.function.name"].AsString())
	assert.Equal(t, int64(171), a["code.line.number"].AsInt64())
	assert.Equal(t, int64(3), a["hpu.ordinal"].AsInt64(), "the local rank's device")
	assert.Equal(t, int64(10), a["training.batch.index"].AsInt64())
	assert.Len(t, a, 4)
	assert.Equal(t, "job-1", attrValue(progress.Resource().Attributes(), "training.job.id"))
}

func TestDeterministicGivenSeed(t *testing.T) {
	runValues := func(seed string) map[string]float64 {
		tr := newTestRank(t, testConfig(t, "-steps", "50", "-seed", seed), testIdentity())
		require.NoError(t, tr.run(context.Background()))
		return values(t, tr.collect(t))
	}
	a, b, other := runValues("7"), runValues("7"), runValues("8")
	assert.Equal(t, a, b, "same seed, same values")
	assert.NotEqual(t, a[metricLoss], other[metricLoss], "another seed, other values")
}

func TestLossFallsAndAccuracyRises(t *testing.T) {
	m := newModel(1, 0)
	first := m.batch(0, time.Second, 1)
	var last batchStats
	for step := 1; step <= 2000; step++ {
		last = m.batch(step, time.Second, 1)
	}
	assert.Greater(t, first.loss, 2.0)
	assert.Less(t, last.loss, 0.5)
	assert.Less(t, first.accuracy, 0.1)
	assert.Greater(t, last.accuracy, 0.85)
}

func TestSlowFactor(t *testing.T) {
	// 100ms batches, slowed 12 times after 1s of training: batch 11 onwards.
	c := testConfig(t, "-steps", "15", "-slow-factor", "12", "-slow-after", "1s", "-fault-ranks", "3")
	tr := newTestRank(t, c, testIdentity())
	require.NoError(t, tr.run(context.Background()))
	v := values(t, tr.collect(t))
	assert.InDelta(t, 1.2, v[metricBatchDuration], 1.2*phaseJitter)
	var warnings []string
	for _, r := range tr.logs.all() {
		if r.Severity() == log.SeverityWarn {
			warnings = append(warnings, r.Body().AsString())
		}
	}
	require.Len(t, warnings, 1, "one warning when the slowdown starts")
	assert.Regexp(t, `^Batch 1[12] took 1\.\d\ds, 12\.0 times the usual 100ms$`, warnings[0])

	other := testIdentity()
	other.rank = 4
	healthy := newTestRank(t, c, other)
	require.NoError(t, healthy.run(context.Background()))
	assert.InDelta(t, 0.1, values(t, healthy.collect(t))[metricBatchDuration], 0.1*phaseJitter, "rank 4 is not in -fault-ranks")
}

// runUntilLogged starts the rank and waits until it logged a record with body prefix; the rank is
// stopped when the test ends.
func runUntilLogged(t *testing.T, tr *testRank, prefix string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	require.Eventually(t, func() bool {
		for _, b := range tr.logs.bodies() {
			if len(b) >= len(prefix) && b[:len(prefix)] == prefix {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond, "no record starting with %q", prefix)
	return done
}

func TestStallHangKeepsReporting(t *testing.T) {
	// 100ms batches: the rank stalls before batch 6.
	tr := newTestRank(t, testConfig(t, "-stall-after", "550ms"), testIdentity())
	done := runUntilLogged(t, tr, "Waiting for all_reduce of batch 6")
	first := values(t, tr.collect(t))
	second := values(t, tr.collect(t))
	assert.Equal(t, float64(6*32), first[metricSamples], "samples stop at the stall")
	assert.Equal(t, first[metricSamples], second[metricSamples], "and stay there while still reported")
	assert.Zero(t, second[metricSamplesThroughput])
	select {
	case <-tr.silenced:
		t.Fatal("a hanging rank must keep sending")
	case err := <-done:
		t.Fatalf("the stalled rank returned (%v) before it was stopped", err)
	default:
	}
}

func TestStallSilentStopsSending(t *testing.T) {
	tr := newTestRank(t, testConfig(t, "-stall-after", "550ms", "-stall-mode", "silent"), testIdentity())
	runUntilLogged(t, tr, "Waiting for all_reduce")
	select {
	case <-tr.silenced:
	case <-time.After(10 * time.Second):
		t.Fatal("the rank did not silence its telemetry")
	}
	var rm metricdata.ResourceMetrics
	assert.Error(t, tr.reader.Collect(context.Background(), &rm), "nothing can be collected (or sent) any more")
}

func TestStoppedByContext(t *testing.T) {
	// The stall keeps the rank running until the context ends, as an interrupt would.
	tr := newTestRank(t, testConfig(t, "-stall-after", "1s"), testIdentity())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.run(ctx) }()
	require.Eventually(t, func() bool { return len(tr.logs.bodies()) >= 3 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the rank did not stop")
	}
	bodies := tr.logs.bodies()
	assert.Equal(t, "Training stopped after 10 batches", bodies[len(bodies)-1])
}

func TestCrash(t *testing.T) {
	tr := newTestRank(t, testConfig(t, "-crash-after", "1s"), testIdentity())
	err := tr.run(context.Background())
	require.Error(t, err)
	assert.True(t, isCrash(err), "%v", err)
	assert.EqualError(t, err, "rank 3 crashed after 1s of training (-crash-after)")
	records := tr.logs.all()
	last := records[len(records)-1]
	assert.Equal(t, log.SeverityFatal, last.Severity())
	assert.Equal(t, "CRITICAL", last.SeverityText())
	assert.Regexp(t, `^HPU device lost during batch 1[01] `, last.Body().AsString())
	samples := values(t, tr.collect(t))[metricSamples]
	assert.Contains(t, []float64{10 * 32, 11 * 32}, samples, "no batch after the crash")
}
