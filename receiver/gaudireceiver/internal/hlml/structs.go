package hlml

import (
	"encoding/binary"
	"runtime"
	"unsafe"
)

// Layouts of the HLML out-parameters, for 64-bit Linux (amd64, arm64), from the definitions of
// Habana's hlml.h (older layouts) and of Intel's pyhlml 1.24 types (newer ones); the fake
// library's header is written from the same definitions, and TestLayoutsMatchTheHeader checks
// these constants against its compiler's view. Where releases differ, the size is the newer,
// larger layout's and only offsets common to both are read.
const (
	// hlml_pci_info_t, older releases (PCI_DOMAIN_LEN 5), 52 bytes:
	//   unsigned bus; char bus_id[15]; unsigned device, domain, pci_device_id;
	//   struct { char link_speed[10], link_width[10]; } caps;
	// newer releases (PCI_DOMAIN_LEN 9), 84 bytes: bus_id[19], caps adds link_max_speed[10] and
	// link_max_width[10], then unsigned pci_rev, pci_subsys_id.
	// Everything after bus_id moves, so only bus_id is read: a C string at offset 4 that ends
	// within 15 bytes on older releases and within 19 on newer ones.
	pciInfoSize    = 84
	pciBusIDOffset = 4
	pciBusIDMaxLen = 19

	// hlml_utilization_t: {unsigned aip} in older releases, {unsigned aip, memory} in newer ones.
	utilizationSize      = 8
	utilizationAIPOffset = 0

	// hlml_memory_t: {unsigned long long free, total, used}, bytes, the same in all releases.
	memorySize        = 24
	memoryFreeOffset  = 0
	memoryTotalOffset = 8
	memoryUsedOffset  = 16

	// hlml_event_data_t: {hlml_device_t device; unsigned long long event_type}.
	eventDataSize     = 16
	eventDeviceOffset = 0
	eventTypeOffset   = 8

	// hlml_violation_time_t: {unsigned long long reference_time, violation_time}.
	violationSize       = 16
	violationTimeOffset = 8

	// hlml_get_mac_addr_info fills PORTS_ARR_SIZE (2) uint64 words per mask; bit n of word w is
	// port 64*w+n. Callers that pass a single uint64 invite an overrun.
	portMaskWords = 2
	portMaskSize  = portMaskWords * 8
	maxPorts      = portMaskWords * 64

	// hlml_nic_stats_info_t: {uint32_t port; char *str_buf; uint64_t *val_buf;
	// uint32_t *num_of_counters_out}. The caller owns the buffers and tells the library nothing
	// of their size, so they are sized for HABANA_LINK_CNT_MAX_NUM counters, each name in a
	// fixed ETH_GSTRING_LEN slot (the driver's counters are ethtool's); the guards catch a
	// library that writes more.
	nicStatsInfoSize     = 32
	nicStatsPortOffset   = 0
	nicStatsNamesOffset  = 8
	nicStatsValuesOffset = 16
	nicStatsCountOffset  = 24
	nicMaxCounters       = 256
	nicNameLen           = 32
	nicStatsNamesSize    = nicMaxCounters * nicNameLen
	nicStatsValuesSize   = nicMaxCounters * 8
	nicStatsCountSize    = 4

	// Strings: gohlml's buffer size, above every HLML length constant (HL_FIELD_MAX_SIZE 32,
	// VERSION_MAX_LEN 128, STATUS_MAX_LEN 30).
	stringSize = 256

	// scalarSize holds any scalar out-parameter: unsigned int, unsigned long long, a handle,
	// an enum, a bool.
	scalarSize = 8

	// maxArgs is the most arguments of an HLML function the source calls.
	maxArgs = 6

	guardSize = 16
	guardWord = 0xa55a_c33c_5aa5_3cc3
)

// buffer is one out-parameter: the bytes the library may write, then guardSize guard bytes.
type buffer []byte

func (b buffer) data() []byte { return b[:len(b)-guardSize] }

func (b buffer) ptr() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// reset clears the data so a call that succeeds without writing reads as zero, not as the
// previous call's value.
func (b buffer) reset() { clear(b.data()) }

func (b buffer) guardIntact() bool {
	g := b[len(b)-guardSize:]
	return binary.NativeEndian.Uint64(g) == guardWord && binary.NativeEndian.Uint64(g[8:]) == guardWord
}

func (b buffer) arm() {
	g := b[len(b)-guardSize:]
	binary.NativeEndian.PutUint64(g, guardWord)
	binary.NativeEndian.PutUint64(g[8:], guardWord)
}

func (b buffer) uint32(off int) uint32 { return binary.NativeEndian.Uint32(b[off:]) }

func (b buffer) uint64(off int) uint64 { return binary.NativeEndian.Uint64(b[off:]) }

func (b buffer) putUint32(off int, v uint32) { binary.NativeEndian.PutUint32(b[off:], v) }

func (b buffer) putUint64(off int, v uint64) { binary.NativeEndian.PutUint64(b[off:], v) }

// cstring returns the NUL-terminated string at off, at most maxLen bytes long, without
// allocating: the result aliases the buffer.
func (b buffer) cstring(off, maxLen int) []byte {
	s := b.data()[off:]
	s = s[:min(maxLen, len(s))]
	for i, c := range s {
		if c == 0 {
			return s[:i]
		}
	}
	return s
}

// outBuffers are the out-parameters of one caller's library calls (Read's, or the event
// waiter's): one allocation, reused for every call, pinned while the library may write to it.
type outBuffers struct {
	arena  []uint64 // 8-byte aligned, as the C structs need
	pinner runtime.Pinner
	// args holds a call's arguments: reused, since the slice handed to purego escapes.
	args []uintptr

	scalar, scalar2, memory, utilization, mask, extMask, event, str, pci, violation buffer
	// nicInfo is the hlml_nic_stats_info_t handed to the library, pointing at the three others.
	nicInfo, nicNames, nicValues, nicCount buffer
}

func newOutBuffers() *outBuffers {
	b := &outBuffers{args: make([]uintptr, maxArgs)}
	regions := [...]struct {
		buf  *buffer
		size int
	}{
		{&b.scalar, scalarSize}, {&b.scalar2, scalarSize}, {&b.memory, memorySize},
		{&b.utilization, utilizationSize}, {&b.mask, portMaskSize}, {&b.extMask, portMaskSize},
		{&b.event, eventDataSize}, {&b.str, stringSize}, {&b.pci, pciInfoSize},
		{&b.violation, violationSize}, {&b.nicInfo, nicStatsInfoSize}, {&b.nicNames, nicStatsNamesSize},
		{&b.nicValues, nicStatsValuesSize}, {&b.nicCount, nicStatsCountSize},
	}
	total := 0
	for _, r := range regions {
		total = align8(total + r.size + guardSize)
	}
	b.arena = make([]uint64, total/8)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b.arena))), total)
	off := 0
	for _, r := range regions {
		// The guard follows the data directly, with no padding an overrun could hide in.
		*r.buf = buffer(mem[off : off+r.size+guardSize : off+r.size+guardSize])
		r.buf.arm()
		off = align8(off + r.size + guardSize)
	}
	return b
}

// pin keeps the buffers in place while the library is loaded: their addresses travel to C as
// uintptr, out of the GC's sight.
func (b *outBuffers) pin() { b.pinner.Pin(unsafe.SliceData(b.arena)) }

func (b *outBuffers) unpin() { b.pinner.Unpin() }

func align8(n int) int { return (n + 7) &^ 7 }
