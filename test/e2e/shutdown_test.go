package e2e

import (
	"testing"
	"time"
)

// shutdownDeadline bounds how long the collector may take to exit after SIGTERM.
const shutdownDeadline = 15 * time.Second

func TestCollectorStopsCleanly(t *testing.T) {
	t.Parallel()
	c := startDemoCollector(t)
	// Let data flow through the pipeline first, so shutdown has something to drain.
	waitForFamilies(t, c.process, c.metricsURL, "hpu_utilization_percent")

	start := time.Now()
	killed, err := c.stop(shutdownDeadline)
	if killed {
		t.Fatalf("otelcol-gaudi did not exit within %s of SIGTERM and was killed", shutdownDeadline)
	}
	if err != nil {
		t.Fatalf("otelcol-gaudi exited with %s after SIGTERM, want exit status 0", exitDescription(err))
	}
	t.Logf("otelcol-gaudi exited with status 0 %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}
