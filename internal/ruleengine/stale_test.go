package ruleengine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestValuelessStalenessMarkerEndsSeries: the prometheus receiver marks a scrape target that went away
// with points flagged "no recorded value" and no value. The series ends there, as in Prometheus, so
// TrainingStalled's "seen within the hour but not now" holds at once instead of after the 5m lookback.
func TestValuelessStalenessMarkerEndsSeries(t *testing.T) {
	h := newHarness(t, testConfig("testdata/training.rules.yaml"))
	var total int64
	for k := 0; k <= 8; k++ {
		total += 300
		h.consume(counterBatch(pmetric.AggregationTemporalityCumulative, epoch, epoch.Add(time.Duration(k)*15*time.Second), total))
	}
	gone := counterBatch(pmetric.AggregationTemporalityCumulative, epoch, epoch.Add(135*time.Second), 0)
	dps := gone.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	dps.RemoveIf(func(pmetric.NumberDataPoint) bool { return true })
	marker := dps.AppendEmpty()
	marker.SetStartTimestamp(pcommon.NewTimestampFromTime(epoch))
	marker.SetTimestamp(pcommon.NewTimestampFromTime(epoch.Add(135 * time.Second)))
	marker.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	h.consume(gone)
	// Another series moves data time on, as a node's other series do.
	for k := 10; k <= 12; k++ {
		h.consume(gaugeBatch("other", "", epoch.Add(time.Duration(k)*15*time.Second), point{value: 1}))
	}

	// Without the marker the last sample (120s) would stay in the 5m lookback until 420s.
	assert.Equal(t, []string{"NoSamples/firing{severity=warning}", "TrainingStalled/pending{instance=node-1,job=trainer,severity=critical}"},
		h.alertsAt(epoch.Add(150*time.Second)))
}
