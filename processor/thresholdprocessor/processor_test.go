package thresholdprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPrometheusAlertSemantics checks alert states against Prometheus' documented semantics on one series
// (rules/alerting.go): pending at the first evaluation where the condition holds, firing once `for` has
// elapsed, kept firing for keep_firing_for after the condition clears, then resolved with a staleness
// marker on the ALERTS series. The same series run through promtool in cmd/ruletest's tests.
func TestPrometheusAlertSemantics(t *testing.T) {
	h := newHarness(t, testConfig("testdata/semantics.rules.yaml"))
	value := func(k int) float64 {
		switch {
		case k == 5 || k == 6:
			return 95
		case k >= 1 && k <= 20:
			return 86
		}
		return 80
	}
	dev := map[string]any{"hpu.index": int64(0), "hpu.uuid": "u0"}
	for k := 0; k <= 24; k++ {
		h.consume(gaugeBatch("hpu.temperature", "Cel", epoch.Add(time.Duration(k)*15*time.Second), point{dev, value(k)}))
	}
	const (
		hiPending = "HPUHighTemperature/pending{hpu_index=0,hpu_uuid=u0,severity=critical}"
		hiFiring  = "HPUHighTemperature/firing{hpu_index=0,hpu_uuid=u0,severity=critical}"
		hotFiring = "HPUHot/firing{hpu=0,hpu_index=0,hpu_uuid=u0,severity=warning}"
	)
	tests := []struct {
		at   time.Duration
		want []string
	}{
		{0, nil},
		{15 * time.Second, []string{hiPending}},
		{time.Minute, []string{hiPending}},
		{75 * time.Second, []string{hiPending, hotFiring}},
		// The condition of HPUHot cleared at 105s: keep_firing_for 1m keeps it firing until 165s.
		{105 * time.Second, []string{hiPending, hotFiring}},
		{2 * time.Minute, []string{hiPending, hotFiring}},
		// for: 2m elapsed since 15s: firing; the pending series goes stale.
		{135 * time.Second, []string{hiFiring, hotFiring, "stale:" + hiPending}},
		{150 * time.Second, []string{hiFiring, hotFiring}},
		{165 * time.Second, []string{hiFiring, "stale:" + hotFiring}},
		{5 * time.Minute, []string{hiFiring}},
		{315 * time.Second, []string{"stale:" + hiFiring}},
		{330 * time.Second, nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, h.alertsAt(epoch.Add(tt.at)), "ALERTS at %s", tt.at)
	}
}
