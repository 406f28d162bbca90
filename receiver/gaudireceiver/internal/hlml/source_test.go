package hlml

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

func TestConfig(t *testing.T) {
	assert.Equal(t, Config{
		LibraryPath: "/usr/lib/habanalabs/libhlml.so", TemperatureSource: TemperatureAuto,
		Backoff: BackoffConfig{Failures: 3, Period: 5 * time.Minute},
	}, DefaultConfig())
	require.NoError(t, DefaultConfig().Validate())
	_, err := New(Config{SlowCallsEvery: -1, Backoff: BackoffConfig{Failures: 2}}, Settings{})
	require.EqualError(t, err, "hlml config: library_path must not be empty\n"+
		`temperature_source must be one of [auto hwmon hlml], got ""`+"\n"+
		"slow_calls_every must not be negative, got -1\n"+
		"backoff: period must be positive when failures is set")
	for interval, every := range map[time.Duration]int{0: 1, time.Second: 10, 3 * time.Second: 4, 10 * time.Second: 1, time.Minute: 1} {
		assert.Equal(t, every, DefaultConfig().slowEvery(interval), "automatic cadence at %v", interval)
	}
	assert.Equal(t, 7, Config{SlowCallsEvery: 7}.slowEvery(time.Second), "configured cadence")
}

func TestReadFields(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scenario []string
		want     func() []hpu.Device
	}{
		{
			name: "defaults, newer struct layouts",
			want: func() []hpu.Device { return fakeDevices(8) },
		},
		{
			name:     "older struct layouts read the same",
			scenario: []string{"layout old"},
			want:     func() []hpu.Device { return fakeDevices(8) },
		},
		{
			name: "unit conversions and states",
			scenario: []string{
				"device 2 power_mw 612345", "device 2 power_limit_mw 600000", "device 2 power_cap_mw 450000", "device 2 energy_mj 987654321",
				"device 2 viol_power_ns 1500000000", "device 2 viol_thermal_ns 3", "device 2 temp_hbm 77",
				"device 2 ecc_uncorrected_volatile 4", "device 2 ecc_dram_uncorrected_volatile 3",
				"device 2 clock_mhz 1200", "device 2 clock_max_mhz 1650", "device 2 throttle 3",
				"device 2 pcie_rx 4096", "device 2 pcie_tx 1", "device 2 util 88",
				"device 2 mem_total 103079215104", "device 2 mem_used 99857989632",
				"device 2 temp_aip 91", "device 2 temp_board 60", "device 2 thr_shutdown 100", "device 2 thr_slowdown 90",
				"device 2 thr_mem 95", "device 2 thr_aip 88", "device 2 replays 4000000000", "device 2 link_gen 4",
				"device 2 link_width 8", "device 2 ecc 0", "device 2 rows_single 7", "device 2 rows_double 2",
				"device 2 pending 1", "device 2 link_down 22", "device 2 link_down 0", "device 2 oper_status Needs_reset",
				"device 2 name HL-225", "device 2 bus_id 0000:33:00.0", "device 2 module_id 6",
				"driver 1.21.1-cb7a7bc",
			},
			want: func() []hpu.Device {
				devices := fakeDevices(8)
				for i := range devices {
					devices[i].Info.DriverVersion = "1.21.1-cb7a7bc"
				}
				d := &devices[2]
				d.Power = hpu.Some(612.345)
				d.PowerLimit, d.PowerLimitDefault = hpu.Some(450.0), hpu.Some(600.0)
				d.ThrottleTimePower, d.ThrottleTimeThermal = hpu.Some(1.5), hpu.Some(3e-9)
				d.TemperatureHBM = hpu.Some(77.0)
				d.ECCErrors.UncorrectedVolatile, d.ECCErrorsDRAM.UncorrectedVolatile = hpu.Some(int64(4)), hpu.Some(int64(3))
				d.Energy = hpu.Some(987654.321)
				d.ClockSoC = hpu.Some(int64(1200e6))
				d.ClockSoCMax = hpu.Some(int64(1650e6))
				d.ThrottledPower, d.ThrottledThermal = hpu.Some(true), hpu.Some(true)
				d.PCIeReceive = hpu.Some(4096e3)
				d.PCIeTransmit = hpu.Some(1e3)
				d.Utilization = hpu.Some(88.0)
				d.MemoryTotal = hpu.Some(int64(98304 << 20))
				d.MemoryUsed = hpu.Some(int64(95232 << 20))
				d.MemoryFree = hpu.Some(int64(3072 << 20))
				d.TemperatureOnChip, d.TemperatureOnBoard = hpu.Some(91.0), hpu.Some(60.0)
				d.TemperatureLimits = hpu.TemperatureLimits{
					Shutdown: hpu.Some(100.0), Slowdown: hpu.Some(90.0), MemoryMax: hpu.Some(95.0), AIPMax: hpu.Some(88.0),
				}
				d.PCIeReplays = hpu.Some(int64(4_000_000_000))
				d.PCIeLinkGen, d.PCIeLinkWidth = hpu.Some(int64(4)), hpu.Some(int64(8))
				d.ECCEnabled = hpu.Some(false)
				d.RowsReplacedSingle, d.RowsReplacedDouble = hpu.Some(int64(7)), hpu.Some(int64(2))
				d.RowsPending = hpu.Some(true)
				d.NICPorts[0].Up, d.NICPorts[22].Up = hpu.Some(false), hpu.Some(false)
				d.Info.Model, d.Info.PCIBusID, d.Info.ModuleID = "HL-225", "0000:33:00.0", 6
				// "Needs_reset" is not a status the source knows: invalid, not a guess.
				d.Operational = hpu.Value[bool]{}
				return devices
			},
		},
		{
			name:     "a known non-operational status",
			scenario: []string{"device 4 oper_status disabled"},
			want: func() []hpu.Device {
				devices := fakeDevices(8)
				devices[4].Operational = hpu.Some(false)
				return devices
			},
		},
		{
			name:     "a 16-hex-digit PCI domain fills the newer bus_id",
			scenario: []string{"devices 1", "device 0 bus_id 00001000:e9:00.0"},
			want: func() []hpu.Device {
				devices := fakeDevices(1)
				devices[0].Info.PCIBusID = "00001000:e9:00.0"
				return devices
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSource(t, tc.scenario...)
			want := tc.want()
			got := read(t, s)
			require.Len(t, got, len(want))
			for i := range want {
				assert.Equal(t, want[i], got[i], "device %d", i)
			}
			// The second Read comes from the identity cache and reused buffers: the same.
			again, err := s.Read(context.Background(), time.Now(), got[:0])
			require.NoError(t, err)
			assert.Equal(t, want, again)
		})
	}
}

func TestReadCountFailureFailsRead(t *testing.T) {
	s := startSource(t, "error - hlml_device_get_count DRIVER_NOT_LOADED")
	devices, err := s.Read(context.Background(), time.Now(), nil)
	require.ErrorIs(t, err, ErrorDriverNotLoaded)
	assert.EqualError(t, err, "hlml_device_get_count: HLML_ERROR_DRIVER_NOT_LOADED")
	assert.Empty(t, devices)
}

// TestReadHonoursDeadlineBetweenDevices documents the limit: a call in flight is not
// interrupted, so Read returns after the slow device, with the devices read so far.
func TestReadHonoursDeadlineBetweenDevices(t *testing.T) {
	s := startSource(t, "delay 2 hlml_device_get_power_usage 300")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	devices, err := s.Read(ctx, time.Now(), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "read 3 of 8 HPUs")
	assert.Equal(t, fakeDevices(3), devices)
	assert.GreaterOrEqual(t, time.Since(began), 300*time.Millisecond, "the slow call ran to its end")
}

func TestReadDeviceDisappears(t *testing.T) {
	t.Run("its handle is gone", func(t *testing.T) {
		s := startSource(t, "disappear 5 after_reads 1")
		assert.Equal(t, fakeDevices(8), read(t, s))
		got := read(t, s)
		require.Len(t, got, 8)
		assert.ErrorIs(t, got[5].Err, ErrorNotFound)
		assert.EqualError(t, got[5].Err, "hlml_device_get_handle_by_index: HLML_ERROR_NOT_FOUND")
		assert.Equal(t, fakeDevice(5).UUID, got[5].UUID, "the last known UUID names it")
		assert.Equal(t, fakeDevice(6), got[6])
	})
	t.Run("the count drops", func(t *testing.T) {
		s := startSource(t, "disappear 6 after_reads 1 count")
		assert.Equal(t, fakeDevices(8), read(t, s))
		for range 2 {
			got := read(t, s)
			require.Len(t, got, 8, "devices seen earlier stay reported, failed")
			assert.Equal(t, fakeDevices(6), got[:6])
			for i := 6; i < 8; i++ {
				assert.ErrorIs(t, got[i].Err, ErrDeviceGone)
				assert.EqualError(t, got[i].Err, "hlml_device_get_count reports 6 HPUs: device no longer enumerated by HLML")
				assert.Equal(t, fakeDevice(i).UUID, got[i].UUID)
				assert.Equal(t, int64(i), got[i].Index)
			}
		}
	})
}

func TestStartMissingLibrary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere", "libhlml.so")
	s, err := New(testConfig(path), testSettings(t))
	require.NoError(t, err)
	err = s.Start(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, `loading the HLML library "`+path+`"`)
	assert.ErrorContains(t, err, "No such file or directory")
	require.NoError(t, s.Shutdown(context.Background()))
	_, err = s.Read(context.Background(), time.Now(), nil)
	require.ErrorIs(t, err, ErrNotRunning)
	_, err = s.WaitEvents(context.Background(), time.Millisecond)
	require.ErrorIs(t, err, ErrNotRunning)
}

func TestStartLibraryWithoutHLML(t *testing.T) {
	s, err := New(testConfig(hlmltest.BuildNotHLMLLibrary(t)), testSettings(t))
	require.NoError(t, err)
	err = s.Start(context.Background())
	require.ErrorContains(t, err, "is not a usable HLML library")
	assert.ErrorContains(t, err, "hlml_init")
	require.NoError(t, s.Shutdown(context.Background()))
}

func TestStartInitFails(t *testing.T) {
	fake := useScenario(t, "error - hlml_init DRIVER_NOT_LOADED")
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	err = s.Start(context.Background())
	require.ErrorIs(t, err, ErrorDriverNotLoaded)
	assert.ErrorContains(t, err, "hlml_init: HLML_ERROR_DRIVER_NOT_LOADED")
	require.NoError(t, s.Shutdown(context.Background()))
	assert.Equal(t, 1, fake.InitCount(t))
	assert.Equal(t, 0, fake.ShutdownCount(t), "no hlml_shutdown after a failed hlml_init")
}

// TestStartDriverVersionFails: hlml_get_driver_version, a call outside any device, follows the
// error policy. UNINITIALIZED and DRIVER_NOT_LOADED (HLML itself is unusable) fail Start, which
// closes the session it opened; any other code leaves the driver version empty on every device
// and the devices up, is counted and logged once, and the next Reads ask again until it answers.
func TestStartDriverVersionFails(t *testing.T) {
	const function = "hlml_get_driver_version"
	for _, code := range everyCode {
		t.Run(code.String(), func(t *testing.T) {
			scenario := fmt.Sprintf("error - %s %d 2", function, code)
			if code.libraryGone() {
				fake := useScenario(t, scenario)
				s, err := New(testConfig(fake.Path), testSettings(t))
				require.NoError(t, err)
				err = s.Start(context.Background())
				require.ErrorIs(t, err, code)
				assert.ErrorContains(t, err, function+": "+code.String())
				require.NoError(t, s.Shutdown(context.Background()))
				assert.Equal(t, 1, fake.InitCount(t))
				assert.Equal(t, 1, fake.ShutdownCount(t), "the session it opened is closed")
				return
			}
			fake := hlmltest.LoadFake(t) // the instance observed loads: it counts the calls
			s, tel, logs := observed(t, scenario)
			errorsPerCall := int64(1)
			if code.unavailable() {
				errorsPerCall = 0 // no value, not an error
			}
			assert.Equal(t, errorsPerCall, callErrors(t, tel, function, code), "Start counted it")
			warnings := func() []map[string]any {
				var fields []map[string]any
				for _, e := range logs.FilterMessage("HLML call failed; only its reading is left out until it works").All() {
					fields = append(fields, e.ContextMap())
				}
				return fields
			}
			var want []map[string]any
			if !code.unavailable() {
				want = []map[string]any{{"function": function, "code": code.String()}}
			}
			assert.Equal(t, want, warnings(), "logged once, naming no device")

			now := time.Now()
			devices := withNICCounters(fakeDevices(8))
			for i := range devices {
				devices[i].Info.DriverVersion = ""
			}
			assert.Equal(t, devices, readAt(t, s, now), "every device up, without the driver version")
			assert.Equal(t, 2*errorsPerCall, callErrors(t, tel, function, code), "asked again, failed again")
			assert.Equal(t, want, warnings(), "not logged again")

			assert.Equal(t, withNICCounters(fakeDevices(8)), readAt(t, s, now.Add(time.Second)), "the third call answers")
			readAt(t, s, now.Add(2*time.Second))
			assert.Equal(t, 3, fake.Calls(t, function), "not asked once known")
			if !code.unavailable() {
				assert.Equal(t, 1, logs.FilterMessage("HLML call works again").Len())
			}
		})
	}
	t.Run("HLML gone at a Read that asks again", func(t *testing.T) {
		s := startSource(t, "error - "+function+" TIMEOUT 1", "error - "+function+" DRIVER_NOT_LOADED 1")
		_, err := s.Read(context.Background(), time.Now(), nil)
		require.ErrorIs(t, err, ErrorDriverNotLoaded)
		assert.EqualError(t, err, function+": HLML_ERROR_DRIVER_NOT_LOADED")
		assert.Equal(t, fakeDevices(8), read(t, s), "the Read after it")
	})
}

func TestStartCanceledContext(t *testing.T) {
	fake := useScenario(t)
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.Start(ctx), context.Canceled)
	assert.Equal(t, 0, fake.InitCount(t))
}

func TestInitOnceShutdownOnce(t *testing.T) {
	fake := useScenario(t)
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	require.ErrorContains(t, s.Start(context.Background()), "already started")
	for range 3 {
		read(t, s)
	}
	_, err = s.WaitEvents(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, 1, fake.InitCount(t))
	assert.Equal(t, 0, fake.ShutdownCount(t))

	require.NoError(t, s.Shutdown(context.Background()))
	require.NoError(t, s.Shutdown(context.Background()))
	assert.Equal(t, 1, fake.InitCount(t))
	assert.Equal(t, 1, fake.ShutdownCount(t))
	assert.Equal(t, 0, fake.LiveEventSets(t), "the event set is freed")
	assert.Equal(t, 0, fake.UninitializedCalls(t))
	_, err = s.Read(context.Background(), time.Now(), nil)
	require.ErrorIs(t, err, ErrNotRunning)
}

func TestSecondInitIsReported(t *testing.T) {
	fake := useScenario(t)
	first := startOn(t, fake)
	second, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	err = second.Start(context.Background())
	require.ErrorIs(t, err, ErrorAlreadyInitialized)
	assert.ErrorContains(t, err, "hlml_init: HLML_ERROR_ALREADY_INITIALIZED")
	require.NoError(t, second.Shutdown(context.Background()))
	assert.Equal(t, 0, fake.ShutdownCount(t), "the second source does not end the first one's session")
	assert.Equal(t, fakeDevices(8), read(t, first))
}

func TestShutdownWaitsForTheCallInFlight(t *testing.T) {
	fake := useScenario(t, "delay 4 hlml_device_get_power_usage 200")
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	type result struct {
		devices []hpu.Device
		err     error
	}
	done := make(chan result)
	go func() {
		devices, err := s.Read(context.Background(), time.Now(), nil)
		done <- result{devices, err}
	}()
	fake.AwaitDelay(t)
	require.NoError(t, s.Shutdown(context.Background()))
	r := <-done
	require.ErrorIs(t, r.err, ErrNotRunning)
	assert.Equal(t, fakeDevices(5), r.devices, "device 4 finished, then Read stopped")
	assert.Equal(t, 1, fake.ShutdownCount(t))
	assert.Equal(t, 0, fake.UninitializedCalls(t), "no call ran after hlml_shutdown")
}

func TestShutdownReturnsWhenItsContextEnds(t *testing.T) {
	fake := useScenario(t, "delay 0 hlml_device_get_power_usage 200")
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	done := make(chan error)
	go func() {
		_, err := s.Read(context.Background(), time.Now(), nil)
		done <- err
	}()
	fake.AwaitDelay(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Shutdown(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "finishing in the background")
	require.ErrorIs(t, <-done, ErrNotRunning)
	// A second Shutdown waits for the first to finish, then has nothing to do.
	require.NoError(t, s.Shutdown(context.Background()))
	assert.Equal(t, 1, fake.ShutdownCount(t))
	assert.Equal(t, 0, fake.UninitializedCalls(t))
}

// TestBuffersCatchOverruns is the canary: the fake writes the newer, larger layouts, so every
// other test passing proves the buffers are large enough; here it writes past them, and the
// guard bytes behind each buffer turn that into a device error instead of corrupted memory.
func TestBuffersCatchOverruns(t *testing.T) {
	for _, tc := range []struct {
		function string
		bytes    int
		size     int
	}{
		{"hlml_device_get_pci_info", 1, pciInfoSize},
		{"hlml_device_get_pci_info", guardSize, pciInfoSize},
		{"hlml_device_get_utilization_rates", 4, utilizationSize},
		{"hlml_device_get_memory_info", 8, memorySize},
		{"hlml_get_mac_addr_info", 8, portMaskSize},
		{"hlml_device_get_uuid", 1, stringSize},
		{"hlml_device_get_oper_status", 2, stringSize},
		{"hlml_device_get_violation_status", 8, violationSize},
	} {
		t.Run(tc.function, func(t *testing.T) {
			s := startSource(t, "overrun "+tc.function+" "+strconv.Itoa(tc.bytes))
			for _, d := range read(t, s) {
				require.ErrorIs(t, d.Err, errOverrun, "device %d", d.Index)
				assert.ErrorContains(t, d.Err, tc.function+" wrote past its buffer")
				assert.ErrorContains(t, d.Err, "of "+strconv.Itoa(tc.size)+" bytes")
			}
			for _, g := range []buffer{s.readBuf.pci, s.readBuf.utilization, s.readBuf.memory, s.readBuf.mask, s.readBuf.extMask, s.readBuf.str} {
				assert.True(t, g.guardIntact(), "guards are re-armed after an overrun")
			}
		})
	}
}
