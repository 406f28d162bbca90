// Package enginetest supports the tests and benchmarks of the rule engine and the threshold connector: a
// settable wall clock, and the benchmarks' workload (the shipped rules plus generated ones, and scrapes
// of a 125-node, 1,000-HPU cluster).
package enginetest // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Clock is a wall clock that tests set, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time; pass it as the engine's Settings.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Reach moves the clock forward to t, if it is behind.
func (c *Clock) Reach(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

const (
	Nodes = 125
	HPUs  = 8
	// Interval is the data time between two scrapes, the evaluation interval of the benchmarks.
	Interval   = 15 * time.Second
	extraRules = 39 // with the 11 shipped rules: 50
)

// Epoch is the data time of scrape 0.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Rules writes generated variations on the shipped rules into dir and returns the shipped rule files
// (relative to repoRoot) and the generated one: 50 rules.
func Rules(repoRoot, dir string) ([]string, error) {
	var sb strings.Builder
	sb.WriteString("groups:\n  - name: extra\n    rules:\n")
	for i := range extraRules {
		var expr string
		switch i % 4 {
		case 0:
			expr = fmt.Sprintf("hpu_temperature_celsius > %d", 85+i)
		case 1:
			expr = fmt.Sprintf("avg by (job) (hpu_utilization_percent) < %d", 10+i)
		case 2:
			expr = fmt.Sprintf("rate(hpu_energy_joules_total[5m]) > %d", 600+i)
		default:
			expr = fmt.Sprintf("hpu_memory_used_bytes / hpu_memory_total_bytes > 0.%02d", 80+i%20)
		}
		fmt.Fprintf(&sb, "      - alert: Extra%d\n        expr: %s\n        for: 1m\n        labels: {severity: warning}\n        annotations: {description: \"{{ $labels.hpu_index }} {{ $value }}\"}\n", i, expr)
	}
	extra := filepath.Join(dir, "extra.rules.yaml")
	if err := os.WriteFile(extra, []byte(sb.String()), 0o600); err != nil {
		return nil, err
	}
	rules := filepath.Join(repoRoot, "configs", "prometheus", "rules")
	return []string{filepath.Join(rules, "hpu.rules.yaml"), filepath.Join(rules, "training.rules.yaml"), extra}, nil
}

// Scrape is scrape k of Nodes nodes × HPUs devices × 10 series = 10,000 series. Values are those of a
// healthy cluster with a few devices in trouble (about 1% of series match a rule).
func Scrape(k int) pmetric.Metrics {
	ts := pcommon.NewTimestampFromTime(Epoch.Add(time.Duration(k) * Interval))
	md := pmetric.NewMetrics()
	for n := range Nodes {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "gaudi")
		rm.Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("node-%03d", n))
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("gaudireceiver")
		gauge := func(name, unit string, v func(h int) float64, attrs ...string) {
			m := sm.Metrics().AppendEmpty()
			m.SetName(name)
			m.SetUnit(unit)
			dps := m.SetEmptyGauge().DataPoints()
			for h := range HPUs {
				dp := dps.AppendEmpty()
				dp.SetTimestamp(ts)
				dp.SetDoubleValue(v(h))
				dp.Attributes().PutInt("hpu.index", int64(h))
				dp.Attributes().PutStr("hpu.uuid", fmt.Sprintf("%03d-%d", n, h))
				for i := 0; i+1 < len(attrs); i += 2 {
					dp.Attributes().PutStr(attrs[i], attrs[i+1])
				}
			}
		}
		gauge("hpu.utilization", "%", func(h int) float64 { return float64(60 + (n+h+k)%40) })
		gauge("hpu.memory.used", "By", func(h int) float64 { return float64(80+(n+h)%20) * 1e9 })
		gauge("hpu.memory.total", "By", func(int) float64 { return 128e9 })
		gauge("hpu.temperature", "Cel", func(h int) float64 { return float64(50 + (n+h+k)%30 + 20*((n+h)%50/49)) }, "hpu.sensor", "on_chip")
		gauge("hpu.temperature", "Cel", func(h int) float64 { return float64(40 + (n+h)%30) }, "hpu.sensor", "on_board")
		gauge("hpu.temperature.limit", "Cel", func(int) float64 { return 95 }, "hpu.threshold", "slowdown")
		gauge("hpu.power", "W", func(h int) float64 { return float64(400 + (n+h+k)%200) })
		gauge("hpu.power.limit", "W", func(int) float64 { return 600 })
		gauge("hpu.clock.throttle.active", "{state}", func(h int) float64 { return float64((n + h) % 100 / 99) }, "hpu.throttle.reason", "power")
		energy := sm.Metrics().AppendEmpty()
		energy.SetName("hpu.energy")
		energy.SetUnit("J")
		sum := energy.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for h := range HPUs {
			dp := sum.DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(Epoch))
			dp.SetDoubleValue(float64(k) * 500 * 15)
			dp.Attributes().PutInt("hpu.index", int64(h))
			dp.Attributes().PutStr("hpu.uuid", fmt.Sprintf("%03d-%d", n, h))
		}
	}
	return md
}

// Time is the data time of scrape k.
func Time(k int) time.Time { return Epoch.Add(time.Duration(k) * Interval) }

// Restamp makes md (a Scrape) scrape k: every point at Time(k), the energy counter at its value then.
func Restamp(md pmetric.Metrics, k int) {
	ts := pcommon.NewTimestampFromTime(Time(k))
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			if m.Type() == pmetric.MetricTypeSum {
				dps := m.Sum().DataPoints()
				for l := 0; l < dps.Len(); l++ {
					dps.At(l).SetTimestamp(ts)
					dps.At(l).SetDoubleValue(float64(k) * 500 * 15)
				}
				continue
			}
			dps := m.Gauge().DataPoints()
			for l := 0; l < dps.Len(); l++ {
				dps.At(l).SetTimestamp(ts)
			}
		}
	}
}
