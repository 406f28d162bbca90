package hlml

import (
	"context"
	"testing"
	"time"

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

func benchSource(b *testing.B, every int) *Source {
	b.Setenv(hlmltest.ScenarioEnv, "")
	cfg := testConfig(hlmltest.BuildFakeLibrary(b))
	cfg.SlowCallsEvery = every
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b.Cleanup(func() { require.NoError(b, mp.Shutdown(context.Background())) })
	set := testSettings(b)
	set.MeterProvider = mp
	set.NIC = hpu.NICOptions{Counters: true}
	s, err := New(cfg, set)
	require.NoError(b, err)
	require.NoError(b, s.Start(context.Background()))
	b.Cleanup(func() { require.NoError(b, s.Shutdown(context.Background())) })
	return s
}
