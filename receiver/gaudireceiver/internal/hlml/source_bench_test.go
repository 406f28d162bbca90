package hlml

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// BenchmarkHLMLRead is one Read of 8 devices against the fake library, the way the scraper
// calls it (dst passed back in as dst[:0]), with every call timed into the OpenTelemetry SDK
// as the collector's own telemetry is, and the NIC counters of the external ports asked for.
// The sub-benchmarks run side by side:
//   - "slow tier every Read" makes every call on every Read, as slow_calls_every: 1 does;
//   - "slow tier every 10th Read" is the cadence a 1 s collection interval gets by default,
//     averaged over its Reads;
//   - "fast path" is a Read in which no device is due for the slow tier: what nine Reads of
//     ten cost at that cadence, to compare with the calls this source made before it had the
//     slow calls (PCIe throughput, ECC totals, NIC counters) at all.
func BenchmarkHLMLRead(b *testing.B) {
	for _, tc := range []struct {
		name  string
		every int
		fast  bool
	}{
		{"slow tier every Read", 1, false},
		{"slow tier every 10th Read", 10, false},
		{"fast path", 1 << 30, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			fake := hlmltest.LoadFake(b)
			s := benchSource(b, tc.every)
			ctx, now := context.Background(), time.Now()
			devices, err := s.Read(ctx, now, nil) // the first Read makes every call
			require.NoError(b, err)
			calls := fake.TotalCalls(b)
			b.ReportAllocs()
			for b.Loop() {
				if tc.fast {
					s.reads = 1 // (1+i) % every is never 0
				}
				devices, err = s.Read(ctx, now, devices[:0])
				if err != nil || len(devices) != 8 {
					b.Fatal(err, len(devices))
				}
			}
			// The library calls a Read makes: what the time per Read is made of on hardware.
			b.ReportMetric(float64(fake.TotalCalls(b)-calls)/float64(b.N), "calls/op")
		})
	}
}

// fastCallsPerDevice are the calls of a device on a Read without its slow turn, temperatures
// through HLML: the README's cost budget of 43 a device (345 a Read of 8, with the count).
var fastCallsPerDevice = map[string]int{
	"hlml_device_get_handle_by_index":                 1,
	"hlml_device_get_oper_status":                     1,
	"hlml_device_get_utilization_rates":               1,
	"hlml_device_get_memory_info":                     1,
	"hlml_device_get_temperature":                     3,
	"hlml_device_get_power_usage":                     1,
	"hlml_device_get_total_energy_consumption":        1,
	"hlml_device_get_clock_info":                      1,
	"hlml_device_get_max_clock_info":                  1,
	"hlml_device_get_current_clocks_throttle_reasons": 1,
	"hlml_device_get_pcie_replay_counter":             1,
	"hlml_device_get_curr_pcie_link_generation":       1,
	"hlml_device_get_curr_pcie_link_width":            1,
	"hlml_device_get_ecc_mode":                        1,
	"hlml_device_get_replaced_rows":                   2,
	"hlml_device_get_replaced_rows_pending_status":    1,
	"hlml_nic_get_link":                               24,
}

// TestSteadyReadAllocatesNothing asserts what BenchmarkHLMLRead reports: a steady-state Read of
// 8 devices with the NIC counters asked for allocates nothing, on the fast path and with every
// device's slow turn due, and makes exactly the calls of the README's cost budget: the fast path
// none of the slow ones, so it does not grow with them.
func TestSteadyReadAllocatesNothing(t *testing.T) {
	const devices = 8
	fast := map[string]int{"hlml_device_get_count": 1}
	for fn, n := range fastCallsPerDevice {
		fast[fn] = devices * n
	}
	slow := maps.Clone(fast)
	for fn, n := range slowCallsPerDevice {
		slow[fn] += devices * n
	}
	for _, tc := range []struct {
		name  string
		every int // slow_calls_every
		calls map[string]int
		total int
	}{
		// At 16, Reads 1 to 16-devices have no device due: (read+index) % 16 != 0.
		{"fast path", 16, fast, 345},
		{"slow tier due on every device", 1, slow, 473},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := hlmltest.LoadFake(t)
			s := benchSource(t, tc.every)
			ctx, now := context.Background(), time.Now()
			got, err := s.Read(ctx, now, nil) // the first Read makes every call and sizes got
			require.NoError(t, err)
			calls := func() map[string]int {
				m := map[string]int{}
				for _, sym := range symbols {
					if n := fake.Calls(t, sym.name); n > 0 {
						m[sym.name] = n
					}
				}
				return m
			}
			before := calls()
			const runs = 5 // and AllocsPerRun's warm-up: 6 Reads, Reads 1 to 6
			allocs := testing.AllocsPerRun(runs, func() { got, err = s.Read(ctx, now, got[:0]) })
			require.NoError(t, err)
			assert.Equal(t, withNICCounters(fakeDevices(devices)), got)
			if raceEnabled {
				// The detector's allocations, not the source's (race_test.go): make unit-test runs
				// this with -race for the calls below, make hlml-asan-test without it, as ocb builds.
				t.Logf("%.0f allocations per Read under the race detector, for %d calls", allocs, tc.total)
			} else {
				assert.Zero(t, allocs, "allocations per Read")
			}

			perRead, total := map[string]int{}, 0
			for fn, n := range calls() {
				if d := n - before[fn]; d > 0 {
					assert.Zero(t, d%(runs+1), fn)
					perRead[fn] = d / (runs + 1)
					total += d / (runs + 1)
				}
			}
			assert.Equal(t, tc.calls, perRead, "library calls per Read, by function")
			assert.Equal(t, tc.total, total, "library calls per Read (README)")
			if tc.every > 1 {
				for fn := range slowCallsPerDevice {
					assert.NotContains(t, perRead, fn, "a slow call on the fast path")
				}
			}
		})
	}
}

// BenchmarkHLMLCall is one library call through the caller (power usage): purego's call
// overhead, the timing into the telemetry, the guard check and the fake's own work (a mutex
// and a scan of its rules).
func BenchmarkHLMLCall(b *testing.B) {
	s := benchSource(b, 1)
	require.NoError(b, s.lock.acquire(context.Background(), "benchmark"))
	defer s.lock.release()
	st := &deviceState{}
	c := caller{lib: s.lib, buf: s.readBuf, mon: s.mon, states: st.calls[:], backoff: s.cfg.Backoff}
	h, ok := c.handle(0)
	require.True(b, ok)
	b.ReportAllocs()
	var v hpu.Value[float64]
	for b.Loop() {
		v = milli(c.uint32(slotPower, symGetPowerUsage, h))
	}
	require.True(b, v.Valid)
}

// benchSource starts a source on the fake's defaults as the collector runs it: the calls timed
// into the OpenTelemetry SDK, the NIC counters of the external ports asked for, the slow tier
// every this many Reads.
func benchSource(tb testing.TB, every int) *Source {
	tb.Setenv(hlmltest.ScenarioEnv, "")
	cfg := testConfig(hlmltest.BuildFakeLibrary(tb))
	cfg.SlowCallsEvery = every
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tb.Cleanup(func() { require.NoError(tb, mp.Shutdown(context.Background())) })
	set := testSettings(tb)
	set.MeterProvider = mp
	set.NIC = hpu.NICOptions{Counters: true}
	s, err := New(cfg, set)
	require.NoError(tb, err)
	require.NoError(tb, s.Start(context.Background()))
	tb.Cleanup(func() { require.NoError(tb, s.Shutdown(context.Background())) })
	return s
}
