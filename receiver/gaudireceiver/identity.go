package gaudireceiver

import (
	"errors"
	"fmt"
	"slices"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// maxIndex bounds the device indexes accepted from a source. The driver numbers accel devices
// from 0 and a node has 8 HPUs; a garbled source line must not make the receiver remember, and
// report, a device for every number it ever saw.
const maxIndex = 1023

// deviceRef names a device on its series.
type deviceRef struct {
	index int64
	uuid  string
}

// deviceTracker checks the identity of every device a source reports, where the source's text
// enters the receiver, and remembers the devices seen so that one the source stops reporting is
// shown in the `unknown` state rather than frozen in its last one. Its state is bounded by
// maxIndex.
type deviceTracker struct {
	known   map[int64]string // index → last valid UUID ("" when the source has none)
	present map[int64]int    // this read's devices: index → position
	// retired are the identities the last checked read replaced by a new UUID on the same
	// index; they are reported unknown once.
	retired []deviceRef
	indexes []int64     // reused by missing
	refs    []deviceRef // reused by missing
}

func newDeviceTracker() *deviceTracker {
	return &deviceTracker{known: map[int64]string{}, present: map[int64]int{}}
}

// check validates the identities of one read's devices in place and returns those kept, with
// the problems that no kept device carries. A device whose index is out of range cannot be named
// and is dropped; a device listed twice fails, its copies are dropped; a device whose UUID is
// not printable text fails with the reason, named by the last valid UUID of its index. Dropped
// devices are moved behind the returned slice, not overwritten, so that the buffers sources
// reuse between reads (NIC port slices) stay one per slot.
func (t *deviceTracker) check(devices []hpu.Device) ([]hpu.Device, []error) {
	clear(t.present)
	t.retired = t.retired[:0]
	var errs []error
	kept := 0
	for i := range devices {
		d := &devices[i]
		if d.Index < 0 || d.Index > maxIndex {
			errs = append(errs, fmt.Errorf("the source reported a device with index %d (uuid %s), outside 0-%d; ignored", d.Index, hpu.QuoteText(d.UUID), maxIndex))
			continue
		}
		if j, dup := t.present[d.Index]; dup {
			first := &devices[j]
			if !errors.Is(first.Err, errListedTwice) {
				*first = failed(first.Index, first.UUID, fmt.Errorf("%w (uuid %s, then %s)", errListedTwice, hpu.QuoteText(first.UUID), hpu.QuoteText(d.UUID)), first.NICPorts)
			}
			continue
		}
		if reason := hpu.CheckText(d.UUID); reason != "" {
			*d = failed(d.Index, t.known[d.Index], fmt.Errorf("unusable identity: uuid %s is %s", hpu.QuoteText(d.UUID), reason), d.NICPorts)
		}
		devices[kept], devices[i] = devices[i], devices[kept]
		t.present[devices[kept].Index] = kept
		kept++
	}
	for _, d := range devices[:kept] {
		if old, ok := t.known[d.Index]; ok && old != d.UUID && old != "" {
			t.retired = append(t.retired, deviceRef{d.Index, old})
		}
		t.known[d.Index] = d.UUID
	}
	return devices[:kept], errs
}

var errListedTwice = errors.New("the source listed this index more than once in one read")

// failed is a device that could not be read, keeping its NIC port buffer for reuse.
func failed(index int64, uuid string, err error, ports []hpu.NICPort) hpu.Device {
	return hpu.Device{Index: index, UUID: uuid, Err: err, NICPorts: ports[:0]}
}

// missing returns, in index order, the devices seen in earlier reads that the last checked read
// did not report. The slice is valid until the next call.
func (t *deviceTracker) missing() []deviceRef {
	t.refs = t.refs[:0]
	t.indexes = t.indexes[:0]
	for index := range t.known {
		if _, ok := t.present[index]; !ok {
			t.indexes = append(t.indexes, index)
		}
	}
	slices.Sort(t.indexes)
	for _, index := range t.indexes {
		t.refs = append(t.refs, deviceRef{index, t.known[index]})
	}
	return t.refs
}
