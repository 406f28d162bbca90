package gaudireceiver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
)

// scrapeDuration is the value of hpu.scrape.duration in one scrape's metrics.
func scrapeDuration(t *testing.T, md pmetric.Metrics) time.Duration {
	t.Helper()
	var d time.Duration
	forEachMetric(md, func(m pmetric.Metric) {
		if m.Name() == "hpu.scrape.duration" {
			d = time.Duration(m.Gauge().DataPoints().At(0).DoubleValue() * float64(time.Second))
		}
	})
	require.Positive(t, d, "hpu.scrape.duration")
	return d
}

// TestSlowTierKeepsOneSecondInterval: on a fake where hlml_device_get_pcie_throughput takes 25 ms
// per call and direction, as nvtop measured it on hardware, a 1 s collection interval makes
// each device read it on one scrape in ten (every device on the first): after the first, a
// scrape makes at most two of these calls, and hpu.scrape.duration shows it, far below the
// interval. Made on every scrape (slow_calls_every: 1), they take 8 × 2 × 25 ms = 400 ms each time.
func TestSlowTierKeepsOneSecondInterval(t *testing.T) {
	const slow = 25 * time.Millisecond
	for _, tc := range []struct {
		name    string
		every   int
		scrapes int
	}{
		{"default cadence for 1 s", 0, 11},
		{"every scrape", 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parityConfig(t, SourceHLML)
			cfg.CollectionInterval = time.Second
			cfg.HLML.SlowCallsEvery = tc.every
			fake := hlmltest.LoadFake(t)
			t.Setenv(hlmltest.ScenarioEnv, hlmltest.WriteScenario(t, "delay * hlml_device_get_pcie_throughput 25"))
			fake.ResetCounters(t)
			s := newTestScraper(cfg, time.Now, openSource)
			require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
			t.Cleanup(func() { assert.NoError(t, s.shutdown(context.Background())) })

			for scrape := range tc.scrapes {
				before := fake.Calls(t, "hlml_device_get_pcie_throughput")
				md, err := s.scrape(context.Background())
				require.NoError(t, err)
				calls := fake.Calls(t, "hlml_device_get_pcie_throughput") - before
				took := scrapeDuration(t, md)
				switch {
				case tc.every == 1 || scrape == 0:
					assert.Equal(t, 16, calls, "scrape %d: every device, both directions", scrape)
				default:
					assert.LessOrEqual(t, calls, 2, "scrape %d: one device at most", scrape)
				}
				assert.GreaterOrEqual(t, took, time.Duration(calls)*slow, "scrape %d: the metric counts the slow calls", scrape)
				assert.Less(t, took, cfg.CollectionInterval, "scrape %d fits the interval", scrape)
				if tc.every == 0 && scrape > 0 {
					assert.Less(t, took, 8*slow, "scrape %d: far from the 400 ms of every device", scrape)
				}
			}
			if tc.every == 0 {
				assert.Equal(t, 16+2*8, fake.Calls(t, "hlml_device_get_pcie_throughput"), "after the first, each device once in the next ten scrapes")
			}
		})
	}
}

// TestHLMLCallErrorLeavesTheDeviceUp: through the receiver, a TIMEOUT from one call of one
// device leaves only that reading out (no failed device, no partial scrape error) and is counted
// in the collector's own telemetry, by function and code.
func TestHLMLCallErrorLeavesTheDeviceUp(t *testing.T) {
	cfg := parityConfig(t, SourceHLML)
	clean := scrapeOnce(t, cfg)
	t.Setenv(hlmltest.ScenarioEnv, hlmltest.WriteScenario(t, "error 3 hlml_device_get_power_usage TIMEOUT"))
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { assert.NoError(t, tel.Shutdown(context.Background())) })
	set := receiverSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	s := newGaudiScraper(cfg, set, time.Now, &sharedSource{cfg: cfg, now: time.Now, tel: set.TelemetrySettings, open: openSource})
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, s.shutdown(context.Background())) })

	md, err := s.scrape(context.Background())
	require.NoError(t, err, "no device failed")
	want, got := deviceSeries(clean), deviceSeries(md)
	require.Len(t, got, 8)
	for index, series := range want {
		if index != 3 {
			continue
		}
		var withoutPower []string
		for _, line := range series {
			if !strings.HasPrefix(line, "hpu.powermap[") {
				withoutPower = append(withoutPower, line)
			}
		}
		assert.Equal(t, withoutPower, got[index], "device 3 lacks hpu.power only")
	}
	m, err := tel.GetMetric("otelcol_receiver_gaudi_hlml_call_errors")
	require.NoError(t, err)
	sum := m.Data.(metricdata.Sum[int64])
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(1), sum.DataPoints[0].Value)
	assert.Equal(t, []attribute.KeyValue{attribute.String("code", "HLML_ERROR_TIMEOUT"), attribute.String("function", "hlml_device_get_power_usage")},
		sum.DataPoints[0].Attributes.ToSlice())
}
