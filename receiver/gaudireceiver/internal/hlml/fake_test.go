package hlml

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// useScenario loads the fake for this test and makes the next hlml_init read these scenario
// lines (none: the defaults).
func useScenario(t *testing.T, lines ...string) *hlmltest.Fake {
	t.Helper()
	fake := hlmltest.LoadFake(t)
	t.Setenv(hlmltest.ScenarioEnv, hlmltest.WriteScenario(t, lines...))
	fake.ResetCounters(t)
	return fake
}

// startSource starts a Source on the fake with a scenario and shuts it down at the end.
func startSource(t *testing.T, lines ...string) *Source {
	t.Helper()
	return startOn(t, useScenario(t, lines...))
}

// startOn starts a Source on a fake loaded by useScenario and shuts it down at the end.
func startOn(t *testing.T, fake *hlmltest.Fake) *Source {
	t.Helper()
	return startWith(t, testConfig(fake.Path), testSettings(t))
}

// startWith starts a Source with cfg and set and shuts it down at the end.
func startWith(t *testing.T, cfg Config, set Settings) *Source {
	t.Helper()
	s, err := New(cfg, set)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, s.Shutdown(context.Background())) })
	return s
}

// testConfig is the default configuration on the library at path.
func testConfig(path string) Config {
	cfg := DefaultConfig()
	cfg.LibraryPath = path
	return cfg
}

// testSettings read no host's hwmon (an empty root: temperatures come from HLML).
func testSettings(t testing.TB) Settings {
	return Settings{HostRoot: t.TempDir()}
}

func read(t *testing.T, s *Source) []hpu.Device {
	t.Helper()
	devices, err := s.Read(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	return devices
}

// fakeDevice is the fake's default device i (set_defaults in fakehlml.c) as the source must
// report it: the conversions (mW→W, mJ→J, MHz→Hz, KB/s→B/s) are spelled out here.
func fakeDevice(i int) hpu.Device {
	busIDs := [...]string{"0000:e9:00.0", "0000:c1:00.0", "0000:b7:00.0", "0000:ad:00.0", "0000:a3:00.0", "0000:df:00.0", "0000:d5:00.0", "0000:cb:00.0"}
	moduleIDs := [...]int64{2, 3, 0, 1, 6, 7, 4, 5}
	ports := make([]hpu.NICPort, 24)
	for p := range ports {
		ports[p] = hpu.NICPort{Port: int64(p), External: p == 8 || p == 22 || p == 23, Up: hpu.Some(true)}
	}
	ecc := func(scale int64) hpu.ECCErrors {
		return hpu.ECCErrors{
			CorrectedVolatile: hpu.Some(scale * int64(i)), UncorrectedVolatile: hpu.Some(int64(0)),
			CorrectedAggregate: hpu.Some(10 * scale * int64(i)), UncorrectedAggregate: hpu.Some(int64(i % 2)),
		}
	}
	const mib = 1 << 20
	return hpu.Device{
		Index: int64(i),
		UUID:  fmt.Sprintf("01P4-HL3090A0-18-U4V193-22-07-%02d", i),
		Info: hpu.Info{
			Model: "HL-325L", Serial: fmt.Sprintf("AN500161%02d", i), ModuleID: moduleIDs[i], PCIBusID: busIDs[i],
			DriverVersion: "1.22.1-97ec1a4", FirmwareVersion: "hl-1.22.1-fw-59.2.3.0",
		},
		Operational:        hpu.Some(true),
		Utilization:        hpu.Some(float64(3 * i)),
		MemoryUsed:         hpu.Some(int64(672 * mib)),
		MemoryFree:         hpu.Some(int64((131072 - 672) * mib)),
		MemoryTotal:        hpu.Some(int64(131072 * mib)),
		TemperatureOnChip:  hpu.Some(float64(36 + i/2)),
		TemperatureOnBoard: hpu.Some(float64(32 + i/2)),
		TemperatureHBM:     hpu.Some(float64(40 + i/2)),
		TemperatureLimits: hpu.TemperatureLimits{
			Slowdown: hpu.Some(93.0), Shutdown: hpu.Some(103.0), MemoryMax: hpu.Some(125.0), AIPMax: hpu.Some(90.0),
		},
		Power:             hpu.Some(float64(226000+500*i) / 1000),
		PowerLimit:        hpu.Some(850.0),
		PowerLimitDefault: hpu.Some(850.0),
		Energy:            hpu.Some(float64(1_000_000_000+1_234_567*i) / 1000),
		ClockSoC:          hpu.Some(int64(1600_000_000)),
		ClockSoCMax:       hpu.Some(int64(1600_000_000)),
		ThrottledPower:    hpu.Some(false),
		ThrottledThermal:  hpu.Some(false),
		// 10^9 ns per index for power, a quarter of that for thermal.
		ThrottleTimePower:   hpu.Some(float64(i)),
		ThrottleTimeThermal: hpu.Some(0.25 * float64(i)),
		PCIeReceive:         hpu.Some(float64(1200+10*i) * 1000),
		PCIeTransmit:        hpu.Some(float64(800+10*i) * 1000),
		PCIeReplays:         hpu.Some(int64(i)),
		PCIeLinkGen:         hpu.Some(int64(5)),
		PCIeLinkWidth:       hpu.Some(int64(16)),
		ECCEnabled:          hpu.Some(true),
		ECCErrors:           ecc(10),
		ECCErrorsDRAM:       ecc(5),
		RowsReplacedSingle:  hpu.Some(int64(i % 3)),
		RowsReplacedDouble:  hpu.Some(int64(0)),
		RowsPending:         hpu.Some(false),
		NICPorts:            ports,
	}
}

func fakeDevices(n int) []hpu.Device {
	devices := make([]hpu.Device, n)
	for i := range devices {
		devices[i] = fakeDevice(i)
	}
	return devices
}
