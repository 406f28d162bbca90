package hlml

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// deviceReadings are the functions read per device (those failing the device for any code,
// the handle and UUID lookups, aside) with what their failure leaves out of the device.
var deviceReadings = []struct {
	function string
	clear    func(*hpu.Device)
}{
	{"hlml_device_get_power_usage", func(d *hpu.Device) { d.Power = hpu.Value[float64]{} }},
	{"hlml_device_get_power_management_limit", func(d *hpu.Device) { d.PowerLimit = hpu.Value[float64]{} }},
	{"hlml_device_get_power_management_default_limit", func(d *hpu.Device) { d.PowerLimitDefault = hpu.Value[float64]{} }},
	{"hlml_device_get_total_energy_consumption", func(d *hpu.Device) { d.Energy = hpu.Value[float64]{} }},
	{"hlml_device_get_pcie_throughput", func(d *hpu.Device) { d.PCIeReceive, d.PCIeTransmit = hpu.Value[float64]{}, hpu.Value[float64]{} }},
	{"hlml_device_get_pcie_replay_counter", func(d *hpu.Device) { d.PCIeReplays = hpu.Value[int64]{} }},
	{"hlml_device_get_curr_pcie_link_generation", func(d *hpu.Device) { d.PCIeLinkGen = hpu.Value[int64]{} }},
	{"hlml_device_get_curr_pcie_link_width", func(d *hpu.Device) { d.PCIeLinkWidth = hpu.Value[int64]{} }},
	{"hlml_device_get_temperature", func(d *hpu.Device) {
		d.TemperatureOnChip, d.TemperatureOnBoard, d.TemperatureHBM = hpu.Value[float64]{}, hpu.Value[float64]{}, hpu.Value[float64]{}
	}},
	{"hlml_device_get_temperature_threshold", func(d *hpu.Device) { d.TemperatureLimits = hpu.TemperatureLimits{} }},
	{"hlml_device_get_current_clocks_throttle_reasons", func(d *hpu.Device) { d.ThrottledPower, d.ThrottledThermal = hpu.Value[bool]{}, hpu.Value[bool]{} }},
	{"hlml_device_get_violation_status", func(d *hpu.Device) {
		d.ThrottleTimePower, d.ThrottleTimeThermal = hpu.Value[float64]{}, hpu.Value[float64]{}
	}},
	{"hlml_device_get_clock_info", func(d *hpu.Device) { d.ClockSoC = hpu.Value[int64]{} }},
	{"hlml_device_get_max_clock_info", func(d *hpu.Device) { d.ClockSoCMax = hpu.Value[int64]{} }},
	{"hlml_device_get_utilization_rates", func(d *hpu.Device) { d.Utilization = hpu.Value[float64]{} }},
	{"hlml_device_get_memory_info", func(d *hpu.Device) {
		d.MemoryUsed, d.MemoryFree, d.MemoryTotal = hpu.Value[int64]{}, hpu.Value[int64]{}, hpu.Value[int64]{}
	}},
	{"hlml_device_get_ecc_mode", func(d *hpu.Device) { d.ECCEnabled = hpu.Value[bool]{} }},
	{"hlml_device_get_total_ecc_errors", func(d *hpu.Device) { d.ECCErrors = hpu.ECCErrors{} }},
	{"hlml_device_get_memory_error_counter", func(d *hpu.Device) { d.ECCErrorsDRAM = hpu.ECCErrors{} }},
	{"hlml_device_get_replaced_rows", func(d *hpu.Device) {
		d.RowsReplacedSingle, d.RowsReplacedDouble = hpu.Value[int64]{}, hpu.Value[int64]{}
	}},
	{"hlml_device_get_replaced_rows_pending_status", func(d *hpu.Device) { d.RowsPending = hpu.Value[bool]{} }},
	{"hlml_device_get_oper_status", func(d *hpu.Device) { d.Operational = hpu.Value[bool]{} }},
	{"hlml_get_mac_addr_info", func(d *hpu.Device) { d.NICPorts = nil }},
	// The ports with counters are still reported, without a link state.
	{"hlml_nic_get_link", func(d *hpu.Device) {
		d.NICPorts = slices.DeleteFunc(d.NICPorts, func(p hpu.NICPort) bool { return !p.External })
		for i := range d.NICPorts {
			d.NICPorts[i].Up = hpu.Value[bool]{}
		}
	}},
	// The counters are left out; the ports and their links stay.
	{"hlml_nic_get_statistics", func(d *hpu.Device) {
		for i := range d.NICPorts {
			d.NICPorts[i].Counters = hpu.NICCounters{}
		}
	}},
	// It names the hwmon directory; here the temperatures come from HLML whatever it answers,
	// and TestMinorNumberFindsHwmon shows the index standing in for it.
	{"hlml_device_get_minor_number", func(*hpu.Device) {}},
	{"hlml_device_get_name", func(d *hpu.Device) { d.Info.Model = "" }},
	{"hlml_device_get_serial", func(d *hpu.Device) { d.Info.Serial = "" }},
	{"hlml_device_get_module_id", func(d *hpu.Device) { d.Info.ModuleID = -1 }},
	{"hlml_device_get_pci_info", func(d *hpu.Device) { d.Info.PCIBusID = "" }},
	{"hlml_get_firmware_fit_version", func(d *hpu.Device) { d.Info.FirmwareVersion = "" }},
}

// everyCode is every hlml_return_t but success.
var everyCode = []Return{
	ErrorUninitialized, ErrorInvalidArgument, ErrorNotSupported, ErrorAlreadyInitialized, ErrorNotFound,
	ErrorInsufficientSize, ErrorDriverNotLoaded, ErrorTimeout, ErrorAIPIsLost, ErrorMemory, ErrorNoData,
	ErrorUnknown, Return(42),
}

// observed starts a source on a fake with the scenario, its telemetry and logs recorded, and the
// NIC counters of the external ports asked for (withNICCounters).
func observed(t *testing.T, lines ...string) (*Source, *componenttest.Telemetry, *observer.ObservedLogs) {
	t.Helper()
	fake := useScenario(t, lines...)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zap.InfoLevel)
	set := testSettings(t)
	set.Logger, set.MeterProvider = zap.New(core), tel.NewTelemetrySettings().MeterProvider
	set.NIC = hpu.NICOptions{Counters: true}
	return startWith(t, testConfig(fake.Path), set), tel, logs
}

// callErrors is the hlml call-error counter of the source's telemetry for function and code.
func callErrors(t *testing.T, tel *componenttest.Telemetry, function string, code Return) int64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_receiver_gaudi_hlml_call_errors")
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok)
	want := attribute.NewSet(attribute.String("function", function), attribute.String("code", code.String()))
	for _, dp := range sum.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

func readAt(t *testing.T, s *Source, now time.Time) []hpu.Device {
	t.Helper()
	devices, err := s.Read(context.Background(), now, nil)
	require.NoError(t, err)
	return devices
}

// TestErrorPolicy makes every device reading of device 3 return every code: only the codes that
// mean the device is gone fail it; any other leaves that reading out and keeps the rest of the
// device, counted per function and code in the telemetry (NOT_SUPPORTED and NO_DATA are no
// errors) and logged once per change, not on every Read.
func TestErrorPolicy(t *testing.T) {
	for _, r := range deviceReadings {
		for _, code := range everyCode {
			t.Run(fmt.Sprintf("%s %s", r.function, code), func(t *testing.T) {
				s, tel, logs := observed(t, fmt.Sprintf("error 3 %s %d", r.function, code))
				now := time.Now()
				got := readAt(t, s, now)
				want := withNICCounters(fakeDevices(8))
				require.Len(t, got, 8)
				for i := range want {
					if i != 3 {
						assert.Equal(t, want[i], got[i], "device %d", i)
					}
				}
				if code.gone() {
					require.ErrorIs(t, got[3].Err, code)
					assert.EqualError(t, got[3].Err, r.function+": "+code.String())
					assert.Equal(t, hpu.Device{Index: 3, UUID: want[3].UUID, Err: got[3].Err, NICPorts: got[3].NICPorts}, got[3])
					assert.Equal(t, hpu.HealthFailed, got[3].Health())
					assert.Equal(t, int64(1), callErrors(t, tel, r.function, code))
					return
				}
				r.clear(&want[3])
				assert.Equal(t, want[3], got[3], "only that reading is left out")
				warnings := logs.FilterMessage("HLML call failed; only its reading is left out until it works")
				first := warnings.Len()
				errorsAfterOne := callErrors(t, tel, r.function, code)
				if code.unavailable() {
					assert.Zero(t, errorsAfterOne, "not an error")
					assert.Zero(t, first, "not worth a log line")
				} else {
					assert.Positive(t, errorsAfterOne)
					assert.Positive(t, first)
					for _, e := range warnings.All() {
						assert.Equal(t, map[string]any{"hpu.index": int64(3), "hpu.uuid": want[3].UUID, "function": r.function, "code": code.String()},
							withoutPort(e.ContextMap()))
					}
				}
				// A second Read: counted again, not logged again.
				assert.Equal(t, want[3], readAt(t, s, now.Add(time.Second))[3])
				assert.Equal(t, 2*errorsAfterOne, callErrors(t, tel, r.function, code))
				assert.Equal(t, first, logs.FilterMessage("HLML call failed; only its reading is left out until it works").Len())
			})
		}
	}
}

// withoutPort drops the port the log of a NIC port's call names.
func withoutPort(m map[string]any) map[string]any {
	delete(m, "port")
	return m
}

// TestDeviceFailsWithoutHandleOrUUID: without a handle or a UUID nothing else can be read or
// named, so any code fails the device, NOT_SUPPORTED included; so does a device-gone code
// from a reading.
func TestDeviceFailsWithoutHandleOrUUID(t *testing.T) {
	for _, tc := range []struct {
		scenario, function string
		code               Return
		uuid               bool
	}{
		{"error 0 hlml_device_get_handle_by_index NOT_SUPPORTED", "hlml_device_get_handle_by_index", ErrorNotSupported, false},
		{"error 0 hlml_device_get_handle_by_index TIMEOUT", "hlml_device_get_handle_by_index", ErrorTimeout, false},
		{"error 1 hlml_device_get_uuid NO_DATA", "hlml_device_get_uuid", ErrorNoData, false},
		{"error 1 hlml_device_get_uuid UNKNOWN", "hlml_device_get_uuid", ErrorUnknown, false},
		{"error 5 hlml_device_get_temperature AIP_IS_LOST", "hlml_device_get_temperature", ErrorAIPIsLost, true},
		{"error 7 hlml_nic_get_link DRIVER_NOT_LOADED", "hlml_nic_get_link", ErrorDriverNotLoaded, true},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			s := startSource(t, tc.scenario)
			got := read(t, s)
			var failed []int
			for _, d := range got {
				if d.Err != nil {
					failed = append(failed, int(d.Index))
					assert.ErrorIs(t, d.Err, tc.code)
					assert.EqualError(t, d.Err, tc.function+": "+tc.code.String())
					wantUUID := ""
					if tc.uuid {
						wantUUID = fakeDevice(int(d.Index)).UUID
					}
					assert.Equal(t, wantUUID, d.UUID, "named by the last UUID known, if any")
				}
			}
			assert.Len(t, failed, 1)
		})
	}
}

func TestReadDeviceRecoversAfterTransientError(t *testing.T) {
	s := startSource(t, "error 3 hlml_device_get_power_usage AIP_IS_LOST 1")
	first := read(t, s)
	require.ErrorIs(t, first[3].Err, ErrorAIPIsLost)
	assert.Equal(t, fakeDevices(8), read(t, s))
}

func TestDriverVersionUnavailable(t *testing.T) {
	s := startSource(t, "error - hlml_get_driver_version NOT_SUPPORTED")
	want := fakeDevices(8)
	for i := range want {
		want[i].Info.DriverVersion = ""
	}
	assert.Equal(t, want, read(t, s))
}

// TestBackoff: a call that fails three times in a row is skipped for the back-off period, which
// is logged once; then it is tried again, and when it works that is logged too.
func TestBackoff(t *testing.T) {
	fake := useScenario(t, "error 2 hlml_device_get_power_usage TIMEOUT 5", "error * hlml_device_get_clock_info NOT_SUPPORTED")
	core, logs := observer.New(zap.InfoLevel)
	set := testSettings(t)
	set.Logger = zap.New(core)
	cfg := testConfig(fake.Path)
	cfg.Backoff = BackoffConfig{Failures: 3, Period: time.Minute}
	s := startWith(t, cfg, set)

	start := time.Now()
	calls := func() (power, clock int) {
		return fake.Calls(t, "hlml_device_get_power_usage"), fake.Calls(t, "hlml_device_get_clock_info")
	}
	for i := range 3 {
		readAt(t, s, start.Add(time.Duration(i)*time.Second))
	}
	power, clock := calls()
	assert.Equal(t, 3*8, power)
	assert.Equal(t, 3*8, clock)
	for i := range 5 {
		got := readAt(t, s, start.Add(time.Duration(3+i)*time.Second))
		assert.False(t, got[2].Power.Valid, "skipped, so still invalid")
		assert.True(t, got[3].Power.Valid)
	}
	p, c := calls()
	assert.Equal(t, power+5*7, p, "device 2 skips it, the others go on")
	assert.Equal(t, clock, c, "NOT_SUPPORTED on every device: skipped everywhere")
	assert.Equal(t, 1, logs.FilterMessage("HLML call keeps failing; calling it again only after the back-off period").Len(),
		"once, and not for NOT_SUPPORTED")

	// After the period: tried again; it fails twice more (the scenario's 5), then works.
	later := start.Add(2 * time.Minute)
	readAt(t, s, later)
	readAt(t, s, later.Add(time.Second))
	got := readAt(t, s, later.Add(2*time.Second))
	assert.Equal(t, fakeDevice(2).Power, got[2].Power)
	assert.Equal(t, 1, logs.FilterMessage("HLML call keeps failing; calling it again only after the back-off period").Len())
	assert.Equal(t, 1, logs.FilterMessage("HLML call works again").Len())
	assert.Equal(t, 1, logs.FilterMessage("HLML call failed; only its reading is left out until it works").Len())
}

// TestSlotsAreDistinct guards the slot constants: two readings sharing a slot would share their
// failures and back-off.
func TestSlotsAreDistinct(t *testing.T) {
	named := []slot{slotName, slotSerial, slotModuleID, slotMinor, slotPCIInfo, slotFirmware, slotPorts, slotOperStatus,
		slotUtilization, slotMemory, slotTempChip, slotTempBoard, slotTempHBM, slotThreshold, slotPower, slotPowerCap,
		slotPowerDefault, slotEnergy, slotClock, slotClockMax, slotThrottle, slotViolation, slotPCIe, slotReplays,
		slotLinkGen, slotLinkWidth, slotECCMode, slotRows, slotRowsPending, slotECC, slotECCDRAM, slotNICLink, slotNICStats, numSlots}
	for i := 1; i < len(named); i++ {
		assert.Greater(t, named[i], named[i-1], "slot %d", i)
	}
	assert.Equal(t, slotThreshold+4, slotPower)
	assert.Equal(t, slotViolation+2, slotPCIe)
	assert.Equal(t, slotPCIe+2, slotReplays)
	assert.Equal(t, slotRows+2, slotRowsPending)
	assert.Equal(t, slotECC+4, slotECCDRAM)
	assert.Equal(t, slotECCDRAM+4, slotNICLink)
	assert.Equal(t, slotNICLink+maxPorts, slotNICStats)
}

// TestLogsQuoteTheUUID: the source logs a device's UUID before the receiver validates it, so one
// with a DEL byte and a bidirectional override reaches the log Go-quoted, every byte visible; a
// printable one is logged as it is, as the receiver's own log lines name a device.
func TestLogsQuoteTheUUID(t *testing.T) {
	const garbled = "01P4-\x7f\u202e-03"
	fake := useScenario(t, "device 3 uuid "+garbled, "error * hlml_device_get_power_usage TIMEOUT")
	core, logs := observer.New(zap.InfoLevel)
	set := testSettings(t) // no hwmon under this root
	set.Logger = zap.New(core)
	cfg := testConfig(fake.Path)
	cfg.TemperatureSource = TemperatureHwmon
	got := read(t, startWith(t, cfg, set))
	assert.Equal(t, garbled, got[3].UUID, "reported as read, for the receiver to judge")

	for _, msg := range []string{
		"HLML call failed; only its reading is left out until it works",
		"No hwmon temperatures for this HPU; with temperature_source hwmon it reports none",
	} {
		uuids := map[int64]any{}
		for _, e := range logs.FilterMessage(msg).All() {
			fields := e.ContextMap()
			uuids[fields["hpu.index"].(int64)] = fields["hpu.uuid"]
		}
		assert.Len(t, uuids, 8, msg)
		assert.Equal(t, `"01P4-\x7f\u202e-03"`, uuids[3], msg)
		assert.Equal(t, fakeDevice(2).UUID, uuids[2], msg)
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok {
				assert.Empty(t, hpu.CheckText(s), "%s: %s %q", e.Message, k, s)
			}
		}
	}
}
