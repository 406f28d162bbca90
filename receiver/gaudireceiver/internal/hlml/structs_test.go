package hlml

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
)

// TestLayoutsMatchTheHeader checks the Go constants against the C compiler's view of both
// releases' structs in the fake's header.
func TestLayoutsMatchTheHeader(t *testing.T) {
	fake := hlmltest.LoadFake(t)
	for what, want := range map[string]int{
		"sizeof(hlml_pci_info_t)":                 pciInfoSize,
		"offsetof(hlml_pci_info_t, bus_id)":       pciBusIDOffset,
		"sizeof(hlml_pci_info_t.bus_id)":          pciBusIDMaxLen,
		"offsetof(old_hlml_pci_info_t, bus_id)":   pciBusIDOffset,
		"sizeof(hlml_utilization_t)":              utilizationSize,
		"offsetof(hlml_utilization_t, aip)":       utilizationAIPOffset,
		"sizeof(hlml_memory_t)":                   memorySize,
		"offsetof(hlml_memory_t, free)":           memoryFreeOffset,
		"offsetof(hlml_memory_t, total)":          memoryTotalOffset,
		"offsetof(hlml_memory_t, used)":           memoryUsedOffset,
		"sizeof(hlml_event_data_t)":               eventDataSize,
		"offsetof(hlml_event_data_t, device)":     eventDeviceOffset,
		"offsetof(hlml_event_data_t, event_type)": eventTypeOffset,
		"sizeof(mask)":                            portMaskSize,
	} {
		assert.Equal(t, want, fake.Layout(t, what), what)
	}
	// The buffers hold the larger layout of each pair.
	assert.GreaterOrEqual(t, pciInfoSize, fake.Layout(t, "sizeof(old_hlml_pci_info_t)"))
	assert.GreaterOrEqual(t, utilizationSize, fake.Layout(t, "sizeof(old_hlml_utilization_t)"))
	assert.Greater(t, pciBusIDMaxLen, fake.Layout(t, "sizeof(old_hlml_pci_info_t.bus_id)"))
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
