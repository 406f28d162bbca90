package hlml

import (
	"cmp"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
)

// TestLayoutCTest compiles and runs the fake header's C layout test: every size, offset and enum
// value the Go side relies on has its 64-bit Linux ABI value in the header written from Habana's
// definitions, for the older and the newer layouts.
func TestLayoutCTest(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "layout_test")
	cc := cmp.Or(os.Getenv("CC"), "gcc")
	out, err := exec.Command(cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", bin, hlmltest.LayoutTestSource()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "layouts checked")
}

// TestLayoutsMatchTheHeader checks the Go constants against the C compiler's view of the fake's
// header (written from Habana's hlml.h and pyhlml's newer types), for both layouts where they
// differ: what the Go side reads is at the same offset in both, and its buffers hold the larger.
func TestLayoutsMatchTheHeader(t *testing.T) {
	fake := hlmltest.LoadFake(t)
	for what, want := range map[string]int{
		"sizeof(hlml_pci_info_newer_t)":                             pciInfoSize,
		"offsetof(hlml_pci_info_t, bus_id)":                         pciBusIDOffset,
		"offsetof(hlml_pci_info_newer_t, bus_id)":                   pciBusIDOffset,
		"sizeof(hlml_pci_info_newer_t.bus_id)":                      pciBusIDMaxLen,
		"sizeof(hlml_utilization_newer_t)":                          utilizationSize,
		"offsetof(hlml_utilization_t, aip)":                         utilizationAIPOffset,
		"offsetof(hlml_utilization_newer_t, aip)":                   utilizationAIPOffset,
		"sizeof(hlml_memory_t)":                                     memorySize,
		"offsetof(hlml_memory_t, free)":                             memoryFreeOffset,
		"offsetof(hlml_memory_t, total)":                            memoryTotalOffset,
		"offsetof(hlml_memory_t, used)":                             memoryUsedOffset,
		"sizeof(hlml_event_data_t)":                                 eventDataSize,
		"offsetof(hlml_event_data_t, device)":                       eventDeviceOffset,
		"offsetof(hlml_event_data_t, event_type)":                   eventTypeOffset,
		"sizeof(hlml_violation_time_t)":                             violationSize,
		"offsetof(hlml_violation_time_t, violation_time)":           violationTimeOffset,
		"sizeof(hlml_nic_stats_info_t)":                             nicStatsInfoSize,
		"offsetof(hlml_nic_stats_info_t, port)":                     nicStatsPortOffset,
		"offsetof(hlml_nic_stats_info_t, str_buf)":                  nicStatsNamesOffset,
		"offsetof(hlml_nic_stats_info_t, val_buf)":                  nicStatsValuesOffset,
		"offsetof(hlml_nic_stats_info_t, num_of_counters_out)":      nicStatsCountOffset,
		"sizeof(uint64_t[PORTS_ARR_SIZE])":                          portMaskSize,
		"ETH_GSTRING_LEN":                                           nicNameLen,
		"HABANA_LINK_CNT_MAX_NUM":                                   nicMaxCounters,
		"HLML_TEMPERATURE_ON_AIP":                                   temperatureOnAIP,
		"HLML_TEMPERATURE_ON_BOARD":                                 temperatureOnBoard,
		"HLML_TEMPERATURE_HBM":                                      temperatureHBM,
		"HLML_TEMPERATURE_THRESHOLD_SHUTDOWN":                       thresholdShutdown,
		"HLML_TEMPERATURE_THRESHOLD_SLOWDOWN":                       thresholdSlowdown,
		"HLML_TEMPERATURE_THRESHOLD_MEM_MAX":                        thresholdMemMax,
		"HLML_TEMPERATURE_THRESHOLD_GPU_MAX":                        thresholdAIPMax,
		"HLML_CLOCK_SOC":                                            clockSoC,
		"HLML_PCIE_UTIL_TX_BYTES":                                   pcieTX,
		"HLML_PCIE_UTIL_RX_BYTES":                                   pcieRX,
		"HLML_PERF_POLICY_POWER":                                    policyPower,
		"HLML_PERF_POLICY_THERMAL":                                  policyThermal,
		"HLML_MEMORY_ERROR_TYPE_CORRECTED":                          eccCorrected,
		"HLML_MEMORY_ERROR_TYPE_UNCORRECTED":                        eccUncorrected,
		"HLML_VOLATILE_ECC":                                         eccVolatile,
		"HLML_AGGREGATE_ECC":                                        eccAggregate,
		"HLML_MEMORY_LOCATION_DRAM":                                 locationDRAM,
		"HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS": rowsSingleBit,
		"HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR":           rowsDoubleBit,
		"HLML_FEATURE_ENABLED":                                      featureEnabled,
		"HLML_CLOCKS_THROTTLE_REASON_POWER":                         throttlePower,
		"HLML_CLOCKS_THROTTLE_REASON_THERMAL":                       throttleThermal,
		"HLML_EVENT_ECC_DERR":                                       int(eventECCDoubleBit),
		"HLML_EVENT_CRITICAL_ERR":                                   int(eventCritical),
		"HLML_EVENT_DRAM_DERR":                                      int(eventDRAM),
		"HLML_EVENT_ECC_SERR":                                       int(eventECCSingleBit),
		"sizeof(hlml_return_t)":                                     4,
	} {
		assert.Equal(t, want, fake.Layout(t, what), what)
	}
	// The buffers hold the larger layout of each pair; the older bus_id ends within the newer's.
	assert.Equal(t, 52, fake.Layout(t, "sizeof(hlml_pci_info_t)"))
	assert.Equal(t, 4, fake.Layout(t, "sizeof(hlml_utilization_t)"))
	assert.Greater(t, pciBusIDMaxLen, fake.Layout(t, "sizeof(hlml_pci_info_t.bus_id)"))
	assert.Equal(t, nicMaxCounters*nicNameLen, nicStatsNamesSize)
	assert.Equal(t, nicMaxCounters*8, nicStatsValuesSize)
	for _, name := range [...]string{"sizeof(hlml_pci_info_t)", "offsetof(hlml_nic_stats_info_t, val_buf)", "HLML_TEMPERATURE_HBM"} {
		assert.NotEqual(t, -1, fake.Layout(t, name))
	}
}

func TestOutBuffers(t *testing.T) {
	b := newOutBuffers()
	for name, tc := range map[string]struct {
		buf  buffer
		size int
	}{
		"scalar": {b.scalar, scalarSize}, "scalar2": {b.scalar2, scalarSize}, "memory": {b.memory, memorySize},
		"utilization": {b.utilization, utilizationSize}, "mask": {b.mask, portMaskSize}, "extMask": {b.extMask, portMaskSize},
		"event": {b.event, eventDataSize}, "str": {b.str, stringSize}, "pci": {b.pci, pciInfoSize},
		"violation": {b.violation, violationSize}, "nicInfo": {b.nicInfo, nicStatsInfoSize},
		"nicNames": {b.nicNames, nicStatsNamesSize}, "nicValues": {b.nicValues, nicStatsValuesSize},
		"nicCount": {b.nicCount, nicStatsCountSize},
	} {
		require.Len(t, tc.buf.data(), tc.size, name)
		assert.Zero(t, tc.buf.ptr()%8, "%s is 8-byte aligned for the C structs", name)
		assert.True(t, tc.buf.guardIntact(), name)
		tc.buf.data()[tc.size-1] = 0xff
		assert.True(t, tc.buf.guardIntact(), "%s: writing its last byte is in bounds", name)
		tc.buf[tc.size] = 0xff
		assert.False(t, tc.buf.guardIntact(), "%s: one byte past is caught", name)
		tc.buf.arm()
		assert.True(t, tc.buf.guardIntact(), name)
	}
}

func TestCString(t *testing.T) {
	b := newOutBuffers().pci
	copy(b.data()[pciBusIDOffset:], "0000:e9:00.0\x00junk")
	assert.Equal(t, "0000:e9:00.0", string(b.cstring(pciBusIDOffset, pciBusIDMaxLen)))
	copy(b.data()[pciBusIDOffset:], "0123456789abcdefghijklmnop")
	assert.Equal(t, "0123456789abcdefghi", string(b.cstring(pciBusIDOffset, pciBusIDMaxLen)), "bounded without a NUL")
}

func TestReturnNames(t *testing.T) {
	assert.Equal(t, "HLML_ERROR_AIP_IS_LOST", ErrorAIPIsLost.String())
	assert.Equal(t, "hlml_return_t(42)", Return(42).String())
	err := &CallError{Func: "hlml_device_get_power_usage", Code: ErrorTimeout}
	assert.EqualError(t, err, "hlml_device_get_power_usage: HLML_ERROR_TIMEOUT")
	assert.ErrorIs(t, err, ErrorTimeout)
}
