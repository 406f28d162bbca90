package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// alertDeadline covers the demo's overheat ramp (a minute), HPUHighTemperature's `for: 2m` and
// a few evaluation intervals of slack on a loaded machine.
const alertDeadline = 5 * time.Minute

// TestDemoOverheatFiresHighTemperatureAlert runs what a new user sees after `make run`: the
// overheating simulated device takes the shipped HPUHighTemperature rule to pending and then to
// firing, visible as ALERTS on the Prometheus endpoint, and the transition is printed by the
// debug exporter as a log record. Only the fault's start is moved to the collector's start.
func TestDemoOverheatFiresHighTemperatureAlert(t *testing.T) {
	t.Parallel()
	c := startDemoCollector(t,
		"receivers::gaudi::simulator::faults=[{device: 3, kind: overheat}]",
		"connectors::threshold::evaluation_interval=5s",
	)
	start := time.Now()
	waitForAlert(t, c, "HPUHighTemperature", "pending")
	t.Logf("HPUHighTemperature pending after %s", time.Since(start).Round(time.Second))
	waitForAlert(t, c, "HPUHighTemperature", "firing")
	t.Logf("HPUHighTemperature firing after %s", time.Since(start).Round(time.Second))

	eventually(t, time.Minute, func() (bool, string) {
		out := c.output()
		for _, want := range []string{"threshold.alert.transition", "HPUHighTemperature", "HPU temperature too high"} {
			if !strings.Contains(out, want) {
				return false, fmt.Sprintf("the debug exporter has not printed %q yet", want)
			}
		}
		return true, ""
	})
}

// waitForAlert polls the collector's Prometheus endpoint until ALERTS has the alert in state on
// device 3 only.
func waitForAlert(t *testing.T, c *collector, name, state string) {
	t.Helper()
	eventually(t, alertDeadline, func() (bool, string) {
		c.failIfExited(t)
		families, err := scrape(context.Background(), c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		var devices []string
		for _, s := range families["ALERTS"] {
			if string(s.Metric["alertname"]) == name && string(s.Metric["alertstate"]) == state {
				devices = append(devices, string(s.Metric[model.LabelName("hpu_index")]))
				if s.Metric["severity"] != "critical" || s.Metric["hpu_sensor"] != "on_chip" {
					t.Fatalf("ALERTS series with unexpected labels: %v", s.Metric)
				}
			}
		}
		if len(devices) == 0 {
			return false, fmt.Sprintf("no ALERTS{alertname=%q,alertstate=%q} yet", name, state)
		}
		if len(devices) != 1 || devices[0] != "3" {
			t.Fatalf("%s %s on devices %v, want only the overheating device 3", name, state, devices)
		}
		return true, ""
	})
}
