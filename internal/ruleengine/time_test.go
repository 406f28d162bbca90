package ruleengine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// counterBatch is a monotonic sum of one series from a training job (resource service.name → job).
func counterBatch(temporality pmetric.AggregationTemporality, start, ts time.Time, v int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "trainer")
	rm.Resource().Attributes().PutStr("service.instance.id", "node-1")
	sm := rm.ScopeMetrics().AppendEmpty()
	m := sm.Metrics().AppendEmpty()
	m.SetName("training.samples")
	m.SetUnit("{sample}")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(temporality)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetIntValue(v)
	return md
}

// TestDeltaAndCumulativeCountersAgree feeds the same counter as cumulative and as delta points: the
// delta points are accumulated before they enter the store, so rate() sees the same series.
func TestDeltaAndCumulativeCountersAgree(t *testing.T) {
	for _, temporality := range []pmetric.AggregationTemporality{pmetric.AggregationTemporalityCumulative, pmetric.AggregationTemporalityDelta} {
		t.Run(temporality.String(), func(t *testing.T) {
			h := newHarness(t, testConfig("testdata/training.rules.yaml"))
			var total int64
			prev := epoch
			for k := 1; k <= 12; k++ {
				ts := epoch.Add(time.Duration(k) * 15 * time.Second)
				step := int64(3000) // 200 samples/s
				total += step
				if temporality == pmetric.AggregationTemporalityDelta {
					h.consume(counterBatch(temporality, prev, ts, step))
				} else {
					h.consume(counterBatch(temporality, epoch, ts, total))
				}
				prev = ts
			}
			assert.Equal(t, []string{"FastTraining/firing{job=trainer,severity=info}"},
				h.alertsAt(epoch.Add(3*time.Minute)))
			vec, err := h.query(`training_samples_total{job="trainer",instance="node-1"}`, epoch.Add(3*time.Minute))
			require.NoError(t, err)
			require.Len(t, vec, 1)
			assert.Equal(t, float64(36000), vec[0].F)
		})
	}
}

// TestIdleTickFiresWhenDataStops: the job stops sending; wall-clock ticks carry time forward, so
// TrainingStalled goes pending and fires, and resolves when the job is back.
func TestIdleTickFiresWhenDataStops(t *testing.T) {
	h := newHarness(t, testConfig("testdata/training.rules.yaml"))
	var wall time.Time
	tick := func(at time.Time) {
		h.clock.Set(at)
		h.e.Tick(context.Background())
	}
	var total int64
	for k := 0; k <= 4; k++ {
		total += 300
		wall = epoch.Add(time.Duration(k) * 15 * time.Second)
		h.consume(counterBatch(pmetric.AggregationTemporalityCumulative, epoch, wall, total))
	}
	lastData := wall
	// Less than one interval without data: no evaluation from the tick.
	before := len(h.sink.AllMetrics())
	tick(wall.Add(10 * time.Second))
	assert.Len(t, h.sink.AllMetrics(), before)

	for m := 1; m <= 12; m++ {
		tick(lastData.Add(time.Duration(m) * time.Minute))
	}
	stalled := "TrainingStalled/%s{instance=node-1,job=trainer,severity=critical}"
	// The last sample (1m) leaves the 5m lookback at 6m: the series is gone but was seen within the hour.
	assert.Equal(t, []string{"NoSamples/firing{severity=warning}", sprintf(stalled, "pending")}, h.alertsAt(epoch.Add(6*time.Minute)))
	assert.Equal(t, []string{"NoSamples/firing{severity=warning}", sprintf(stalled, "pending")}, h.alertsAt(epoch.Add(645*time.Second)))
	assert.Equal(t, []string{"NoSamples/firing{severity=warning}", sprintf(stalled, "firing"), "stale:" + sprintf(stalled, "pending")},
		h.alertsAt(epoch.Add(11*time.Minute)))

	// The job comes back (its counter restarted): the alert resolves once the rate is positive again.
	restart := epoch.Add(14 * time.Minute)
	for k := 0; k <= 4; k++ {
		wall = restart.Add(time.Duration(k) * 15 * time.Second)
		h.consume(counterBatch(pmetric.AggregationTemporalityCumulative, restart, wall, int64(k*300)))
	}
	assert.Equal(t, []string{"stale:NoSamples/firing{severity=warning}", "stale:" + sprintf(stalled, "firing")}, h.alertsAt(restart))
	assert.Empty(t, h.alertsAt(restart.Add(time.Minute)))
}
