package sysfs

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

func newSource(t testing.TB, root string) *Source {
	t.Helper()
	s, err := New(Config{Root: root}, hpu.NICOptions{Counters: true})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { assert.NoError(t, s.Shutdown(context.Background())) })
	return s
}

func read(t testing.TB, s *Source) ([]hpu.Device, error) {
	t.Helper()
	return s.Read(context.Background(), time.Now(), nil)
}

// fullDevice is what sysfstest.Gaudi2Device reads as.
func fullDevice(index int64, bus string) hpu.Device {
	return hpu.Device{
		Index: index,
		UUID:  "pci-" + bus,
		Info: hpu.Info{
			Model:           "HL-225",
			PCIBusID:        bus,
			DriverVersion:   "1.12.1-cb7a7bc",
			FirmwareVersion: "Linux gaudi2 5.10.18-hl-gaudi2-1.12.1-fw-46.0.5-sec-6 ...",
		},
		Operational:       hpu.Some(true),
		ClockSoC:          hpu.Some(int64(1650e6)),
		ClockSoCMax:       hpu.Some(int64(1650e6)),
		PowerLimit:        hpu.Some(600.0),
		TemperatureOnChip: hpu.Some(29.0),
		Power:             hpu.Some(61.0),
		PCIeLinkGen:       hpu.Some(int64(4)),
		PCIeLinkWidth:     hpu.Some(int64(16)),
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{}, hpu.NICOptions{})
	assert.EqualError(t, err, "sysfs config: root must not be empty")
	s, err := New(DefaultConfig(), hpu.NICOptions{})
	require.NoError(t, err)
	assert.Equal(t, "sysfs", s.Name())
}

func TestReadFullDevice(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0"))
	devs, err := read(t, newSource(t, root))
	require.NoError(t, err)
	assert.Equal(t, []hpu.Device{fullDevice(0, "0000:43:00.0")}, devs)
	assert.Equal(t, hpu.HealthOK, devs[0].Health())
}

func TestReadVariants(t *testing.T) {
	const bus = "0000:43:00.0"
	base := sysfstest.Gaudi2Device(t, 0, bus)
	for _, tc := range []struct {
		name string
		dev  sysfstest.Device
		want func(d *hpu.Device)
		err  string
	}{
		{
			name: "no hwmon",
			dev:  base.WithoutHwmon(),
			want: func(d *hpu.Device) { d.TemperatureOnChip, d.Power = hpu.Value[float64]{}, hpu.Value[float64]{} },
		},
		{
			name: "unreadable attributes",
			dev: base.With(map[string]string{
				"clk_cur_freq_mhz": sysfstest.Unreadable, "max_power": sysfstest.Unreadable, "hwmon/hwmon3/temp1_input": sysfstest.Unreadable,
				"current_link_speed": sysfstest.Unreadable,
			}),
			want: func(d *hpu.Device) {
				d.ClockSoC, d.PowerLimit, d.TemperatureOnChip, d.PCIeLinkGen = hpu.Value[int64]{}, hpu.Value[float64]{}, hpu.Value[float64]{}, hpu.Value[int64]{}
			},
		},
		{
			name: "not operational: the driver refuses clocks, power and hwmon",
			dev: base.With(map[string]string{
				"status": "In reset\n", "clk_cur_freq_mhz": sysfstest.Unreadable, "clk_max_freq_mhz": sysfstest.Unreadable, "max_power": sysfstest.Unreadable,
				"hwmon/hwmon3/temp1_input": sysfstest.Unreadable, "hwmon/hwmon3/power1_input": sysfstest.Unreadable,
			}),
			want: func(d *hpu.Device) {
				d.Operational = hpu.Some(false)
				d.ClockSoC, d.ClockSoCMax = hpu.Value[int64]{}, hpu.Value[int64]{}
				d.PowerLimit, d.TemperatureOnChip, d.Power = hpu.Value[float64]{}, hpu.Value[float64]{}, hpu.Value[float64]{}
			},
		},
		{
			name: "older driver: armcp only, no module_id, link down",
			dev:  base.With(map[string]string{"cpucp_kernel_ver": "", "module_id": "", "current_link_speed": "Unknown\n"}),
			want: func(d *hpu.Device) { d.PCIeLinkGen, d.Info.ModuleID = hpu.Value[int64]{}, hpu.UnknownModuleID },
		},
		{
			name: "module id, multi-line firmware string, Gaudi 3",
			dev: base.With(map[string]string{
				"module_id": "5\n", "cpucp_kernel_ver": "Linux gaudi3 6.1\nbuilt by jenkins\n", "device_type": "GAUDI3\n", "device": "0x1060\n",
			}),
			want: func(d *hpu.Device) {
				d.Info.ModuleID, d.Info.FirmwareVersion, d.Info.Model = 5, "Linux gaudi3 6.1", "HL-325L"
			},
		},
		{
			name: "no pci_addr: the bus id comes from the device link",
			dev:  base.With(map[string]string{"pci_addr": ""}),
			want: func(*hpu.Device) {},
		},
		{
			name: "unparsable content is reported",
			dev:  base.With(map[string]string{"clk_cur_freq_mhz": "fast\n", "current_link_speed": "warp 9\n"}),
			want: func(d *hpu.Device) { d.ClockSoC, d.PCIeLinkGen = hpu.Value[int64]{}, hpu.Value[int64]{} },
			err:  `accel0 clk_cur_freq_mhz: not an integer: "fast"` + "\n" + `accel0 current_link_speed: not a PCIe speed: "warp 9"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			sysfstest.WriteTree(t, root, tc.dev)
			devs, err := read(t, newSource(t, root))
			if tc.err != "" {
				assert.EqualError(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			want := fullDevice(0, bus)
			tc.want(&want)
			assert.Equal(t, []hpu.Device{want}, devs)
		})
	}
}

func TestReadNotOperationalIsDegraded(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").With(map[string]string{"status": "Needs reset\n"}))
	devs, err := read(t, newSource(t, root))
	require.NoError(t, err)
	assert.Equal(t, hpu.HealthDegraded, devs[0].Health())
}

func TestReadEightDevicesNonContiguous(t *testing.T) {
	root := t.TempDir()
	accels := []int{21, 0, 13, 2, 5, 10, 7, 8}
	var devs []sysfstest.Device
	for i, a := range accels {
		devs = append(devs, sysfstest.Gaudi2Device(t, a, fmt.Sprintf("0000:%02x:00.0", 0x10+i)))
	}
	// Another vendor's accelerator in the same class is not an HPU.
	devs = append(devs, sysfstest.Gaudi2Device(t, 1, "0000:f0:00.0").With(map[string]string{"vendor": "0x8086\n"}))
	sysfstest.WriteTree(t, root, devs...)
	// Older drivers also put control nodes in the class.
	require.NoError(t, os.Mkdir(filepath.Join(root, "sys", "class", "accel", "accel_controlD0"), 0o755))

	got, err := read(t, newSource(t, root))
	require.NoError(t, err)
	var indices []int64
	for _, d := range got {
		indices = append(indices, d.Index)
		require.NoError(t, d.Err)
		assert.Equal(t, "pci-"+d.Info.PCIBusID, d.UUID)
	}
	assert.Equal(t, []int64{0, 2, 5, 7, 8, 10, 13, 21}, indices, "numeric order, not lexical")
	assert.Equal(t, "0000:11:00.0", got[0].Info.PCIBusID, "accel0 is the second device written")
	assert.Equal(t, "0000:10:00.0", got[7].Info.PCIBusID)
}

func TestReadVanishedDevice(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0"), sysfstest.Gaudi2Device(t, 1, "0000:44:00.0"))
	s := newSource(t, root)
	_, err := read(t, s)
	require.NoError(t, err)
	pci := filepath.Join(root, "sys", "devices", "pci0000:00")

	t.Run("gone before it is opened: known, so it fails under its identity", func(t *testing.T) {
		require.NoError(t, os.RemoveAll(filepath.Join(pci, "0000:44:00.0")))
		devs, err := read(t, s)
		require.NoError(t, err)
		require.Len(t, devs, 2)
		assert.Equal(t, fullDevice(0, "0000:43:00.0"), devs[0])
		assert.Equal(t, int64(1), devs[1].Index)
		assert.Equal(t, "pci-0000:44:00.0", devs[1].UUID)
		assert.ErrorIs(t, devs[1].Err, fs.ErrNotExist)
	})

	t.Run("gone while it is read", func(t *testing.T) {
		dir, err := os.OpenRoot(filepath.Join(s.classDir, "accel0", "device"))
		require.NoError(t, err)
		defer dir.Close()
		require.NoError(t, os.RemoveAll(filepath.Join(pci, "0000:43:00.0")))
		d := hpu.Device{Index: 0}
		s.fill(&attrReader{root: dir, buf: &s.buf, device: "accel0"}, "accel0", &d)
		require.Error(t, d.Err)
		assert.Contains(t, d.Err.Error(), "reading status")
		assert.False(t, d.Operational.Valid)
		assert.False(t, d.ClockSoC.Valid)
	})

	t.Run("gone before it was ever read: reported, not invented", func(t *testing.T) {
		root := t.TempDir()
		sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0"), sysfstest.Gaudi2Device(t, 3, "0000:46:00.0"))
		require.NoError(t, os.RemoveAll(filepath.Join(root, "sys", "devices", "pci0000:00", "0000:46:00.0")))
		devs, err := read(t, newSource(t, root))
		require.Len(t, devs, 1)
		require.Error(t, err)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), "accel3")
	})
}

func TestReadNoDevices(t *testing.T) {
	t.Run("no accel class", func(t *testing.T) {
		root := t.TempDir()
		s, err := New(Config{Root: root}, hpu.NICOptions{Counters: true})
		require.NoError(t, err)
		err = s.Start(context.Background())
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), filepath.Join(root, "sys", "class", "accel"))
		_, err = read(t, s)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("only other vendors' devices", func(t *testing.T) {
		root := t.TempDir()
		sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").With(map[string]string{"vendor": "0x8086\n"}))
		devs, err := read(t, newSource(t, root))
		assert.Empty(t, devs)
		assert.ErrorContains(t, err, "no Habana devices in "+filepath.Join(root, "sys", "class", "accel"))
	})
}

func TestReadStopsWhenContextEnds(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	devs, err := newSource(t, root).Read(ctx, time.Now(), nil)
	assert.Empty(t, devs)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestModelName(t *testing.T) {
	for _, tc := range []struct{ deviceType, pciDevice, want string }{
		{"GAUDI2", "0x1020", "HL-225"},
		{"GAUDI2", "0x1021", "HL-288"},
		{"GAUDI3", "0x1060", "HL-325L"},
		{"GAUDI3", "0x1063", "HL-338"},
		{"GAUDI3", "0x1062", "Gaudi 3"},
		{"GAUDI3 Single die", "0x1062", "Gaudi 3 single die"},
		{"GAUDI2C", "0x1020", "Gaudi 2C"},
		{"GAUDI4", "0x10ff", "GAUDI4"},
		{"", "", ""},
	} {
		assert.Equal(t, tc.want, modelName(tc.deviceType, tc.pciDevice), "%q %q", tc.deviceType, tc.pciDevice)
	}
}

func BenchmarkRead(b *testing.B) {
	root := b.TempDir()
	var devs []sysfstest.Device
	for i := range 8 {
		devs = append(devs, sysfstest.Gaudi2Device(b, i, fmt.Sprintf("0000:%02x:00.0", 0x10+i)))
	}
	sysfstest.WriteTree(b, root, devs...)
	s, err := New(Config{Root: root}, hpu.NICOptions{Counters: true})
	require.NoError(b, err)
	dst := make([]hpu.Device, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = s.Read(context.Background(), time.Time{}, dst[:0]); err != nil || len(dst) != 8 {
			b.Fatal(len(dst), err)
		}
	}
}

// TestReadLabelledTemperatures: with the driver package's sensor labels, the hottest on-chip,
// on-board and HBM channels, as HLML reports them.
func TestReadLabelledTemperatures(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors())
	sysfstest.WriteSensorsConf(t, root)
	devs, err := read(t, newSource(t, root))
	require.NoError(t, err)
	want := fullDevice(0, "0000:43:00.0")
	want.TemperatureOnChip, want.TemperatureOnBoard, want.TemperatureHBM = hpu.Some(30.0), hpu.Some(31.0), hpu.Some(32.0)
	assert.Equal(t, []hpu.Device{want}, devs)
}

func TestReadBadSensorLabels(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors())
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc", "sensors.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "sensors.d", "hl_sensors.conf"), []byte("chip \"HL225-pci-*\n"), 0o644))
	s := newSource(t, root)
	devs, err := read(t, s)
	require.ErrorContains(t, err, "temperatures are read without the sensor labels")
	assert.Equal(t, []hpu.Device{fullDevice(0, "0000:43:00.0")}, devs, "temp1 only, as without labels")
	_, err = read(t, s)
	require.NoError(t, err, "said once")
}

// netdevAttrs are the sysfs files of an external port's netdev (without dev_port when port is
// ""): its link state and the standard statistics, rx_bytes as given.
func netdevAttrs(name, port, state string, rx int) map[string]string {
	attrs := map[string]string{
		"net/" + name + "/operstate":             state + "\n",
		"net/" + name + "/statistics/rx_bytes":   fmt.Sprintf("%d\n", rx),
		"net/" + name + "/statistics/tx_bytes":   "2000\n",
		"net/" + name + "/statistics/rx_packets": "30\n",
		"net/" + name + "/statistics/tx_packets": "40\n",
		"net/" + name + "/statistics/rx_errors":  "1\n",
		"net/" + name + "/statistics/tx_errors":  "0\n",
		"net/" + name + "/statistics/rx_dropped": "5\n",
		"net/" + name + "/statistics/tx_dropped": "0\n",
		"net/" + name + "/statistics/collisions": "7\n",
	}
	if port != "" {
		attrs["net/"+name+"/dev_port"] = port + "\n"
	}
	return attrs
}

// TestReadNICNetdevs: the external ports' netdevs give their link state and counters; the
// port comes from dev_port, or from the name's d<N>.
func TestReadNICNetdevs(t *testing.T) {
	attrs := map[string]string{}
	for _, m := range []map[string]string{netdevAttrs("enp67s0d8", "8", "up", 1000), netdevAttrs("enp67s0d22", "", "down", 1022), netdevAttrs("enp67s0d23", "23", "unknown", 1023)} {
		for k, v := range m {
			attrs[k] = v
		}
	}
	attrs["net/enp67s0d23/statistics/rx_bytes"] = "lots\n"
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").With(attrs))
	s, err := New(Config{Root: root}, hpu.NICOptions{Counters: true, Stats: true, StatNames: []string{"collisions"}})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	devs, err := read(t, s)
	require.ErrorContains(t, err, `accel0 net/enp67s0d23/statistics/rx_bytes: not an integer: "lots"`)
	require.Len(t, devs, 1)
	counters := func(rx int64) hpu.NICCounters {
		return hpu.NICCounters{
			ReceiveBytes: hpu.Some(rx), TransmitBytes: hpu.Some(int64(2000)), ReceivePackets: hpu.Some(int64(30)),
			TransmitPackets: hpu.Some(int64(40)), ReceiveErrors: hpu.Some(int64(1)), TransmitErrors: hpu.Some(int64(0)),
			ReceiveDropped: hpu.Some(int64(5)), TransmitDropped: hpu.Some(int64(0)),
		}
	}
	unparsed := counters(0)
	unparsed.ReceiveBytes = hpu.Value[int64]{}
	stats := []hpu.NICStat{{Name: "collisions", Value: 7}}
	assert.Equal(t, []hpu.NICPort{
		{Port: 8, External: true, Up: hpu.Some(true), Counters: counters(1000), Stats: stats},
		{Port: 22, External: true, Up: hpu.Some(false), Counters: counters(1022), Stats: stats},
		{Port: 23, External: true, Counters: unparsed, Stats: stats},
	}, devs[0].NICPorts)
}

// TestReadNICNetdevsHostile: a dev_port beyond the port masks, a second netdev on one port and
// a negative counter are each reported and dropped; nothing else of the device is lost.
func TestReadNICNetdevsHostile(t *testing.T) {
	attrs := map[string]string{}
	for _, m := range []map[string]string{
		netdevAttrs("enp67s0d8", "9223372036854775807", "up", 1000), // the name's d8 instead
		netdevAttrs("enp67s0x", "-1", "up", 1001),                   // no d<N>: no port
		netdevAttrs("enp67s0d9", "8", "up", 1002),                   // port 8 again
		netdevAttrs("enp67s0d22", "22", "up", -5),
	} {
		maps.Copy(attrs, m)
	}
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").With(attrs))
	devs, err := read(t, newSource(t, root))
	require.Len(t, devs, 1)
	require.NoError(t, devs[0].Err)
	assert.True(t, devs[0].Power.Valid)
	for _, want := range []string{
		"accel0 net/enp67s0d8/dev_port: port 9223372036854775807 is not in 0-127",
		"accel0 net/enp67s0x/dev_port: port -1 is not in 0-127",
		"accel0 net/enp67s0d9: port 8 is another netdev's already",
		"accel0 net/enp67s0d22/statistics/rx_bytes: negative: -5",
	} {
		assert.ErrorContains(t, err, want)
	}
	require.Len(t, devs[0].NICPorts, 2)
	assert.Equal(t, int64(8), devs[0].NICPorts[0].Port)
	assert.Equal(t, hpu.Some(int64(1000)), devs[0].NICPorts[0].Counters.ReceiveBytes, "enp67s0d8's, the first netdev on port 8")
	assert.Equal(t, int64(22), devs[0].NICPorts[1].Port)
	assert.False(t, devs[0].NICPorts[1].Counters.ReceiveBytes.Valid)
	assert.True(t, devs[0].NICPorts[1].Counters.TransmitBytes.Valid)
}
