package hlml

import (
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// slot is one reading of a device: a function with its arguments (the on-chip and on-board
// temperatures are two slots of one function, each NIC port has its own). Failures and back-off
// are tracked per device and slot.
type slot uint16

const (
	slotName slot = iota
	slotSerial
	slotModuleID
	slotMinor
	slotPCIInfo
	slotFirmware
	slotPorts
	slotOperStatus
	slotUtilization
	slotMemory
	slotTempChip
	slotTempBoard
	slotTempHBM
	slotThreshold    // + threshold type, 4 slots
	slotPower        = slotThreshold + 4
	slotPowerCap     = slotPower + 1
	slotPowerDefault = slotPowerCap + 1
	slotEnergy       = slotPowerDefault + 1
	slotClock        = slotEnergy + 1
	slotClockMax     = slotClock + 1
	slotThrottle     = slotClockMax + 1
	slotViolation    = slotThrottle + 1  // + perf policy, 2 slots
	slotPCIe         = slotViolation + 2 // + counter (TX, RX), 2 slots
	slotReplays      = slotPCIe + 2
	slotLinkGen      = slotReplays + 1
	slotLinkWidth    = slotLinkGen + 1
	slotECCMode      = slotLinkWidth + 1
	slotRows         = slotECCMode + 1 // + cause, 2 slots
	slotRowsPending  = slotRows + 2
	slotECC          = slotRowsPending + 1 // + 2*error type + counter type, 4 slots
	slotECCDRAM      = slotECC + 4         // the same for DRAM, 4 slots
	slotNICLink      = slotECCDRAM + 4     // + port
	slotNICStats     = slotNICLink + maxPorts
	numSlots         = slotNICStats + maxPorts

	// strict marks calls without which nothing else can be read (a device handle, its UUID, the
	// device count): any failure, NOT_SUPPORTED included, is an error.
	strict slot = numSlots
)

// Slots of the calls outside any device that follow the error policy, in Source.libCalls; their
// caller has index noDevice.
const (
	libSlotDriverVersion slot = iota
	numLibSlots
)

// noDevice is the index of a caller making calls outside any device.
const noDevice = -1

// callState is how one slot of one device has fared lately.
type callState struct {
	failures int32  // consecutive
	last     Return // the last answer; Success when it worked
	// backingOff is set once the slot failed Backoff.Failures times in a row, until it works.
	backingOff bool
	until      int64 // UnixNano; the slot is skipped until then
}

// caller makes library calls into one set of out-buffers and applies the error policy. A code
// meaning the device is gone (Return.gone), a strict call failing, or a write past a buffer sets
// err: the device fails, and after that the caller makes no more calls, so a lost device is
// not asked for fifty more values that would fail (or time out) the same way. Any other error
// leaves only that reading invalid; it is counted, logged once per change of the slot's state,
// and after Backoff.Failures consecutive failures the slot is skipped for Backoff.Period.
type caller struct {
	lib *library
	buf *outBuffers
	mon *monitor
	// backoff is the policy; the zero value never skips.
	backoff BackoffConfig
	// index, uuid and states are the device's; states is nil for strict calls only. Outside a
	// device, index is noDevice and only the codes meaning HLML itself is gone set err.
	index  int
	uuid   string
	states []callState
	now    int64 // UnixNano of the Read, which back-off periods count from
	// timed makes the calls report their latency: the calls of a device's slow turn, and those
	// outside Reads, so that the latency of every function is sampled at the slow tier's
	// cadence and the fast path pays nothing for it.
	timed bool
	err   error
	// soft counts the calls that failed (or were skipped after failing) without failing the
	// device: an identity with one of them is read again on the next Read.
	soft int
}

// raw calls fn, times it and checks the guards of the buffers it writes (outs). A missing
// optional symbol answers HLML_ERROR_NOT_SUPPORTED without a call.
func (c *caller) raw(fn symbol, args []uintptr, outs ...buffer) (Return, error) {
	if !c.lib.has(fn) {
		return ErrorNotSupported, nil
	}
	for _, o := range outs {
		o.reset()
	}
	argv := c.buf.args[:copy(c.buf.args, args)]
	if c.mon == nil || !c.timed {
		return c.check(fn, c.lib.call(fn, argv), outs)
	}
	began := c.mon.clock()
	rc := c.lib.call(fn, argv)
	c.mon.called(fn, c.mon.clock()-began)
	return c.check(fn, rc, outs)
}

// check checks the guards of the buffers a call wrote.
func (c *caller) check(fn symbol, rc Return, outs []buffer) (Return, error) {
	var err error
	for _, o := range outs {
		if !o.guardIntact() {
			o.arm()
			if err == nil {
				err = fmt.Errorf("%s %w of %d bytes: an HLML struct layout larger than this package knows", fn, errOverrun, len(o.data()))
			}
		}
	}
	return rc, err
}

// invoke is raw with the error policy (see caller). Once c.err is set it calls nothing and
// answers HLML_ERROR_UNKNOWN; a slot backing off answers skipped.
func (c *caller) invoke(sl slot, fn symbol, args []uintptr, outs ...buffer) Return {
	if c.err != nil {
		return ErrorUnknown
	}
	var st *callState
	if sl != strict && c.states != nil {
		st = &c.states[sl]
		if st.until > c.now {
			if st.last != ErrorNotSupported {
				c.soft++
			}
			return skipped
		}
	}
	rc, err := c.raw(fn, args, outs...)
	if err != nil {
		c.err = err
		return ErrorUnknown
	}
	if rc != Success && !rc.unavailable() && c.mon != nil {
		c.mon.failed(fn, rc)
	}
	switch {
	case st == nil:
		if rc != Success {
			c.err = &CallError{Func: fn.String(), Code: rc}
		}
	case rc == Success || rc == ErrorNoData:
		// NO_DATA is "no value yet": not a failure, and no reason to back off.
		if st.last != Success && st.last != ErrorNotSupported && st.last != ErrorNoData {
			c.log().Info("HLML call works again", c.fields(sl, fn, st.last)...)
		}
		*st = callState{last: rc}
	case rc.libraryGone() || (rc.gone() && c.index != noDevice):
		c.err = &CallError{Func: fn.String(), Code: rc}
	default:
		c.fail(st, sl, fn, rc)
	}
	return rc
}

// fail records a failure of a slot that leaves only its reading invalid.
func (c *caller) fail(st *callState, sl slot, fn symbol, rc Return) {
	st.failures++
	if rc != ErrorNotSupported {
		c.soft++
	}
	changed := st.last != rc
	st.last = rc
	// NOT_SUPPORTED is what some generations answer for good: not worth a log line, but worth
	// not asking again on every scrape.
	quiet := rc == ErrorNotSupported
	if changed && !quiet {
		c.log().Warn("HLML call failed; only its reading is left out until it works", c.fields(sl, fn, rc)...)
	}
	if c.backoff.Failures > 0 && st.failures >= int32(c.backoff.Failures) {
		st.failures = 0
		st.until = c.now + int64(c.backoff.Period)
		if !st.backingOff && !quiet {
			c.log().Warn("HLML call keeps failing; calling it again only after the back-off period",
				append(c.fields(sl, fn, rc), zap.Int("failures", c.backoff.Failures), zap.Duration("period", c.backoff.Period))...)
		}
		st.backingOff = true
	}
}

func (c *caller) log() *zap.Logger {
	if c.mon == nil {
		return zap.NewNop()
	}
	return c.mon.logger
}

func (c *caller) fields(sl slot, fn symbol, rc Return) []zap.Field {
	if c.index == noDevice {
		return []zap.Field{zap.String("function", fn.String()), zap.Stringer("code", rc)}
	}
	fields := []zap.Field{zap.Int("hpu.index", c.index), uuidField(c.uuid), zap.String("function", fn.String()), zap.Stringer("code", rc)}
	switch {
	case sl >= slotNICStats && sl < numSlots:
		fields = append(fields, zap.Int("port", int(sl-slotNICStats)))
	case sl >= slotNICLink && sl < slotNICStats:
		fields = append(fields, zap.Int("port", int(sl-slotNICLink)))
	}
	return fields
}

// uuidField logs a device's UUID, which the receiver validates only after the Read: as it is
// when it is printable text (hpu.CheckText), as every log line of the receiver names a device,
// else Go-quoted, so that no escape sequence, bidirectional override or invalid UTF-8 reaches
// the log.
func uuidField(uuid string) zap.Field {
	if hpu.CheckText(uuid) != "" {
		uuid = hpu.QuoteText(uuid)
	}
	return zap.String("hpu.uuid", uuid)
}

// scalarCall calls fn(args..., &scalar) and reports whether it succeeded.
func (c *caller) scalarCall(sl slot, fn symbol, args ...uintptr) bool {
	var a [maxArgs]uintptr
	n := copy(a[:], args)
	a[n] = c.buf.scalar.ptr()
	return c.invoke(sl, fn, a[:n+1], c.buf.scalar) == Success
}

// uint32 reads an unsigned int (or an enum) out-parameter that follows args.
func (c *caller) uint32(sl slot, fn symbol, args ...uintptr) (uint32, bool) {
	if !c.scalarCall(sl, fn, args...) {
		return 0, false
	}
	return c.buf.scalar.uint32(0), true
}

// uint64 reads an unsigned long long (or uint64_t, or a handle) out-parameter.
func (c *caller) uint64(sl slot, fn symbol, args ...uintptr) (uint64, bool) {
	if !c.scalarCall(sl, fn, args...) {
		return 0, false
	}
	return c.buf.scalar.uint64(0), true
}

// flag reads a C bool out-parameter.
func (c *caller) flag(sl slot, fn symbol, args ...uintptr) (bool, bool) {
	if !c.scalarCall(sl, fn, args...) {
		return false, false
	}
	return c.buf.scalar[0] != 0, true
}

// bytes reads a string that fn writes into (char *buf, unsigned int length) after args; the
// result aliases the buffer until the next call.
func (c *caller) bytes(sl slot, fn symbol, args ...uintptr) ([]byte, bool) {
	var a [maxArgs]uintptr
	n := copy(a[:], args)
	a[n], a[n+1] = c.buf.str.ptr(), stringSize
	if c.invoke(sl, fn, a[:n+2], c.buf.str) != Success {
		return nil, false
	}
	return c.buf.str.cstring(0, stringSize), true
}

// string is bytes copied into a trimmed Go string; "" when unavailable.
func (c *caller) string(sl slot, fn symbol, args ...uintptr) string {
	b, ok := c.bytes(sl, fn, args...)
	if !ok {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// handle looks up device i. Without a handle nothing else can be read, so any failure,
// NOT_SUPPORTED included, is an error.
func (c *caller) handle(i int) (uintptr, bool) {
	h, ok := c.uint64(strict, symGetHandleByIndex, uintptr(i))
	return uintptr(h), ok
}
