package hlml

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// BenchmarkHLMLRead is one Read of 8 devices against the fake library, the way the scraper
// calls it: dst passed back in as dst[:0]. About 50 library calls per device.
func BenchmarkHLMLRead(b *testing.B) {
	s := benchSource(b)
	ctx, now := context.Background(), time.Now()
	devices, err := s.Read(ctx, now, nil)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		devices, err = s.Read(ctx, now, devices[:0])
		if err != nil || len(devices) != 8 {
			b.Fatal(err, len(devices))
		}
	}
}

// BenchmarkHLMLCall is one library call through the caller (power usage): purego's call
// overhead, the guard check and the fake's own work (a mutex and a scan of its rules).
func BenchmarkHLMLCall(b *testing.B) {
	s := benchSource(b)
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := caller{lib: s.lib, buf: s.readBuf}
	h, ok := c.handle(0)
	require.True(b, ok)
	b.ReportAllocs()
	var v hpu.Value[float64]
	for b.Loop() {
		v = milli(c.uint32(symGetPowerUsage, h))
	}
	require.True(b, v.Valid)
}

func benchSource(b *testing.B) *Source {
	b.Setenv(hlmltest.ScenarioEnv, "")
	s, err := New(Config{LibraryPath: hlmltest.BuildFakeLibrary(b)})
	require.NoError(b, err)
	require.NoError(b, s.Start(context.Background()))
	b.Cleanup(func() { require.NoError(b, s.Shutdown(context.Background())) })
	return s
}
