package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
)

func TestPrometheusScrapesCollector(t *testing.T) {
	t.Parallel()
	c := startDemoCollector(t)
	target, err := url.Parse(c.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, []string{target.Host})

	want := []string{"0", "1", "2", "3", "4", "5", "6", "7"}
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		prom.failIfExited(t)
		ctx := context.Background()
		temps, err := queryVector(ctx, prom.url, `hpu_temperature_celsius{hpu_sensor="on_chip"}`)
		if err != nil {
			return false, err.Error()
		}
		if got := indexes(temps); len(temps) != demoDevices || !slices.Equal(got, want) {
			up, _ := queryVector(ctx, prom.url, `up{job="otelcol-gaudi"}`)
			return false, fmt.Sprintf("hpu_temperature_celsius{hpu_sensor=\"on_chip\"}: %d series with hpu_index %v, want %d with %v (up: %v)",
				len(temps), got, demoDevices, want, up)
		}
		count, err := queryVector(ctx, prom.url, `count(hpu_utilization_percent)`)
		if err != nil {
			return false, err.Error()
		}
		if len(count) != 1 || count[0].Value != demoDevices {
			return false, fmt.Sprintf("count(hpu_utilization_percent) = %v, want %d", count, demoDevices)
		}
		return true, ""
	})
}
