package hlml

import (
	"context"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

// slowCallsPerDevice are the calls of a device's slow turn, with the NIC counters of its external
// ports asked for: the README's cost budget.
var slowCallsPerDevice = map[string]int{
	"hlml_device_get_pcie_throughput":        2,
	"hlml_device_get_power_management_limit": 1,
	"hlml_device_get_violation_status":       2,
	"hlml_device_get_total_ecc_errors":       4,
	"hlml_device_get_memory_error_counter":   4,
	"hlml_nic_get_statistics":                3, // the external ports
}

// TestSlowTier: with slow_calls_every 4, the first Read makes every call and then each device
// makes the slow calls (PCIe throughput, ECC totals, NIC counters) on one Read in four, the
// devices taking turns; the other Reads report the last values again.
func TestSlowTier(t *testing.T) {
	fake := useScenario(t)
	cfg := testConfig(fake.Path)
	cfg.SlowCallsEvery = 4
	set := testSettings(t)
	set.NIC = hpu.NICOptions{Counters: true}
	s := startWith(t, cfg, set)

	want := withNICCounters(fakeDevices(8))
	for r := range 9 {
		got := read(t, s)
		assert.Equal(t, want, got, "Read %d: complete, slow readings carried over", r)
		// The first Read makes them all; Read r then has two devices due: (r+i) % 4 == 0.
		deviceReads := 8 + 2*r
		for fn, n := range slowCallsPerDevice {
			assert.Equal(t, n*deviceReads, fake.Calls(t, fn), "Read %d: %s", r, fn)
		}
		assert.Equal(t, 8*(r+1), fake.Calls(t, "hlml_device_get_power_usage"), "the fast calls run every Read")
		assert.Equal(t, 8*4, fake.Calls(t, "hlml_device_get_temperature_threshold"), "the static ones once per device")
		assert.Equal(t, 8, fake.Calls(t, "hlml_device_get_power_management_default_limit"))
	}
}

// withNICCounters adds what the fake's hlml_nic_get_statistics reports for the external ports
// (fake_nic_counter in fakehlml.c: 10^8 per device, 10^6 per port, 1000 per counter position).
func withNICCounters(devices []hpu.Device) []hpu.Device {
	for i := range devices {
		for p := range devices[i].NICPorts {
			port := &devices[i].NICPorts[p]
			if !port.External {
				continue
			}
			at := func(k int64) hpu.Value[int64] { return hpu.Some(1e8*int64(i) + 1e6*port.Port + 1000*(k+1)) }
			port.Counters = hpu.NICCounters{
				ReceiveBytes: at(5), ReceivePackets: at(6), ReceiveErrors: at(8), ReceiveDropped: at(9),
				TransmitBytes: at(11), TransmitPackets: at(12), TransmitErrors: at(13),
			}
		}
	}
	return devices
}

func TestNICStatistics(t *testing.T) {
	t.Run("raw counters by name, the first of duplicate names, every port", func(t *testing.T) {
		fake := useScenario(t, "devices 1")
		set := testSettings(t)
		set.NIC = hpu.NICOptions{Stats: true, AllPorts: true}
		s := startWith(t, testConfig(fake.Path), set)
		got := read(t, s)
		require.Len(t, got[0].NICPorts, 24)
		for _, p := range got[0].NICPorts {
			at := func(k int64) int64 { return 1e6*p.Port + 1000*(k+1) }
			assert.Equal(t, []hpu.NICStat{
				{Name: "pcs_local_faults", Value: at(0)}, {Name: "pcs_remote_faults", Value: at(1)},
				{Name: "pcs_remote_fault_reconfig", Value: at(2)}, {Name: "pcs_link_restores", Value: at(3)},
				{Name: "etherStatsOctets", Value: at(4)}, {Name: "aFrameCheckSequenceErrors", Value: at(7)},
				{Name: "Congestion Q err", Value: at(14)}, {Name: "pre_FEC_SER_exp (negative)", Value: at(15)},
			}, p.Stats, "port %d", p.Port)
			assert.Equal(t, hpu.NICCounters{}, p.Counters, "not asked for")
		}
		// The names are kept between Reads: no new strings.
		again := read(t, s)
		assert.Equal(t, got, again)
		assert.Same(t, unsafeStringData(got[0].NICPorts[8].Stats[0].Name), unsafeStringData(again[0].NICPorts[8].Stats[0].Name))
	})
	t.Run("only the names asked for", func(t *testing.T) {
		fake := useScenario(t, "devices 1")
		set := testSettings(t)
		set.NIC = hpu.NICOptions{Stats: true, StatNames: []string{"pcs_link_restores", "no such counter"}}
		s := startWith(t, testConfig(fake.Path), set)
		for _, p := range read(t, s)[0].NICPorts {
			if p.External {
				assert.Equal(t, []hpu.NICStat{{Name: "pcs_link_restores", Value: 1e6*p.Port + 4000}}, p.Stats)
			} else {
				assert.Empty(t, p.Stats, "the internal ports are not read")
			}
		}
	})
	t.Run("a library reporting more counters than the buffers hold fails the device", func(t *testing.T) {
		fake := useScenario(t, "device 2 nic_counters_out 257")
		set := testSettings(t)
		set.NIC = hpu.NICOptions{Counters: true}
		got := read(t, startWith(t, testConfig(fake.Path), set))
		require.ErrorIs(t, got[2].Err, errOverrun)
		assert.EqualError(t, got[2].Err, "hlml_nic_get_statistics reports 257 counters: it wrote past its buffer of 256")
		assert.NoError(t, got[3].Err)
	})
	t.Run("a write past the names buffer fails the device", func(t *testing.T) {
		fake := useScenario(t, "overrun hlml_nic_get_statistics 4")
		set := testSettings(t)
		set.NIC = hpu.NICOptions{Counters: true}
		s := startWith(t, testConfig(fake.Path), set)
		for _, d := range read(t, s) {
			require.ErrorIs(t, d.Err, errOverrun)
			assert.ErrorContains(t, d.Err, "hlml_nic_get_statistics wrote past its buffer of 8192 bytes")
		}
		assert.True(t, s.readBuf.nicNames.guardIntact(), "re-armed")
	})
	t.Run("not supported: the links are still reported", func(t *testing.T) {
		fake := useScenario(t, "error * hlml_nic_get_statistics NOT_SUPPORTED")
		set := testSettings(t)
		set.NIC = hpu.NICOptions{Counters: true, Stats: true}
		assert.Equal(t, fakeDevices(8), read(t, startWith(t, testConfig(fake.Path), set)))
	})
}

// TestTemperatureFromHwmon: where hlml_device_get_temperature leaks (the fake leaks 4 KiB a
// call here), temperature_source auto and hwmon read the device's hwmon channels instead, never
// calling it, and report what the sysfs source reports from the same files; hlml calls it.
func TestTemperatureFromHwmon(t *testing.T) {
	root := hwmonTree(t)
	bySysfs, err := sysfs.New(sysfs.Config{Root: root}, hpu.NICOptions{})
	require.NoError(t, err)
	require.NoError(t, bySysfs.Start(context.Background()))
	want, err := bySysfs.Read(context.Background(), time.Now(), nil)
	require.NoError(t, err)

	for _, tc := range []struct {
		source TemperatureSource
		calls  bool // hlml_device_get_temperature called for the devices with hwmon
	}{
		{TemperatureAuto, false},
		{TemperatureHwmon, false},
		{TemperatureHLML, true},
	} {
		t.Run(string(tc.source), func(t *testing.T) {
			fake := useScenario(t, "leak * hlml_device_get_temperature 4096")
			leaked := fake.LeakedBytes(t)
			cfg := testConfig(fake.Path)
			cfg.TemperatureSource = tc.source
			set := testSettings(t)
			set.HostRoot = root
			s := startWith(t, cfg, set)
			for range 3 {
				got := read(t, s)
				for i, d := range got {
					switch {
					case tc.source == TemperatureHLML || (i == 5 && tc.source == TemperatureAuto):
						assert.Equal(t, fakeDevice(i).TemperatureOnChip, d.TemperatureOnChip, "device %d through HLML", i)
					case i == 5:
						assert.Equal(t, hpu.Value[float64]{}, d.TemperatureOnChip, "hwmon only, and it has none")
					default:
						assert.Equal(t, want[i].TemperatureOnChip, d.TemperatureOnChip, "device %d as the sysfs source", i)
						assert.Equal(t, want[i].TemperatureOnBoard, d.TemperatureOnBoard)
						assert.Equal(t, want[i].TemperatureHBM, d.TemperatureHBM)
						assert.Equal(t, hpu.Some(30.0), d.TemperatureOnChip)
					}
				}
			}
			calls := fake.Calls(t, "hlml_device_get_temperature")
			switch tc.source {
			case TemperatureHLML:
				assert.Equal(t, 3*8*3, calls, "three sensors, eight devices, three Reads")
			case TemperatureAuto:
				assert.Equal(t, 3*3, calls, "only device 5, which has no hwmon")
			default:
				assert.Zero(t, calls)
			}
			assert.Equal(t, int64(4096*calls), fake.LeakedBytes(t)-leaked)
		})
	}
}

// hwmonTree writes a host root with 8 accel devices (accelN for device N) whose hwmon channels
// read 30 °C on chip, but for device 5, which has no hwmon directory.
func hwmonTree(t *testing.T) string {
	root := t.TempDir()
	var devs []sysfstest.Device
	for i := range 8 {
		devs = append(devs, sysfstest.Gaudi2Device(t, i, fmt.Sprintf("0000:%02x:00.0", 0x40+i)).WithSensors())
	}
	devs[5] = devs[5].WithoutHwmon()
	sysfstest.WriteTree(t, root, devs...)
	sysfstest.WriteSensorsConf(t, root)
	return root
}

// TestMinorNumberFindsHwmon: hlml_device_get_minor_number names the device's accel directory;
// when it fails with a code that leaves the device up, the HLML index stands in for it.
func TestMinorNumberFindsHwmon(t *testing.T) {
	root := hwmonTree(t)
	for _, tc := range []struct {
		name     string
		scenario []string
		hwmon    bool // device 3's temperatures come from accel3's hwmon rather than HLML
	}{
		{"accel5, which has no hwmon: through HLML", []string{"device 3 minor 5"}, false},
		{"failing: accel3 by the index", []string{"device 3 minor 5", "error 3 hlml_device_get_minor_number TIMEOUT"}, true},
		{"not supported: accel3 by the index", []string{"device 3 minor 5", "error 3 hlml_device_get_minor_number NOT_SUPPORTED"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := useScenario(t, tc.scenario...)
			set := testSettings(t)
			set.HostRoot = root
			got := read(t, startWith(t, testConfig(fake.Path), set))
			want := fakeDevice(3)
			if tc.hwmon {
				want.TemperatureOnChip = hpu.Some(30.0)
				assert.NotEqual(t, fakeDevice(3).TemperatureOnChip, want.TemperatureOnChip, "the two sources tell apart")
			}
			require.NoError(t, got[3].Err)
			assert.Equal(t, want.TemperatureOnChip, got[3].TemperatureOnChip)
			assert.Equal(t, hpu.Some(30.0), got[2].TemperatureOnChip, "device 2 by its own minor number")
		})
	}
}

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
