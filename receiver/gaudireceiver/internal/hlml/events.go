package hlml

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// The event bits registered. HLML_EVENT_ECC_ERR is the double-bit ECC event (newer headers
// name it HLML_EVENT_ECC_DERR); HLML_EVENT_DRAM_ERR is newer headers' HLML_EVENT_DRAM_DERR.
const (
	eventECCDoubleBit uint64 = 1 << 0 // HLML_EVENT_ECC_ERR
	eventCritical     uint64 = 1 << 1 // HLML_EVENT_CRITICAL_ERR
	eventDRAM         uint64 = 1 << 3 // HLML_EVENT_DRAM_ERR
	eventECCSingleBit uint64 = 1 << 4 // HLML_EVENT_ECC_SERR
	watchedEvents            = eventECCDoubleBit | eventCritical | eventDRAM | eventECCSingleBit

	// maxWaitSlice bounds one hlml_event_set_wait, which cannot be interrupted and holds the
	// library's lock: WaitEvents notices ctx and Shutdown within it, and a Read waits for it at
	// most this long.
	maxWaitSlice = 10 * time.Millisecond
	// drainWait is the timeout of the waits that drain the events already queued. Not 0: HLML
	// does not document what 0 means, and if it means "forever" the drain never ends.
	drainWait = time.Millisecond
	// maxEventBatch bounds the events drained after the first one arrived.
	maxEventBatch = 64
)

var _ hpu.EventSource = (*Source)(nil)

// eventKinds maps the registered bits to the kinds the receiver turns into log records (and
// ranks: critical FATAL, double-bit ECC and DRAM ERROR, single-bit ECC WARN).
var eventKinds = [...]struct {
	bit  uint64
	kind hpu.EventKind
}{
	{eventCritical, hpu.EventCritical},
	{eventECCDoubleBit, hpu.EventECCDoubleBit},
	{eventDRAM, hpu.EventDRAM},
	{eventECCSingleBit, hpu.EventECCSingleBit},
}

// eventSet is the HLML event set and the devices registered on it, guarded by Source.lock.
type eventSet struct {
	set     uintptr // hlml_event_set_t; 0 until the first WaitEvents
	devices []watchedDevice
}

type watchedDevice struct {
	handle uintptr
	index  int64
	uuid   string
}

// WaitEvents implements hpu.EventSource: it returns the events that arrive within timeout
// (none, and no error, when nothing arrived), or earlier when ctx ends. The first call creates
// an HLML event set and registers every device for critical, double-bit ECC, DRAM and
// single-bit ECC events; devices that could not be registered are reported in that call's
// error, once, and the others are watched. An error matching ErrorNotSupported means no device
// accepts events: calling again will not help. Events and an error may be returned together.
// Calls are serialised. The wait runs in slices of at most maxWaitSlice, each holding the
// library's lock like every other call, between which a Read takes its turn. Each event's Time
// is when it was received:
// HLML events carry no timestamp. An event on a device handle that was not registered has
// Index -1 and no UUID.
//
// It blocks rather than feeding a channel: a channel would need a goroutine the source owns and
// a buffer policy, while a blocking call leaves goroutine, context and backoff to the caller.
func (s *Source) WaitEvents(ctx context.Context, timeout time.Duration) ([]hpu.Event, error) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if err := s.watch(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("waiting for HLML events: %w", err)
		}
		events, err := s.waitSlice(ctx, min(max(time.Until(deadline), drainWait), maxWaitSlice))
		if err != nil || len(events) > 0 || !time.Now().Before(deadline) {
			return events, err
		}
	}
}

// watch creates the event set and registers the devices, once.
func (s *Source) watch(ctx context.Context) error {
	if err := s.lock.acquire(ctx, "waiting for HLML events"); err != nil {
		return err
	}
	defer s.lock.release()
	if s.lib == nil {
		return ErrNotRunning
	}
	if s.events.set != 0 {
		return nil
	}
	c := caller{lib: s.lib, buf: s.evBuf, mon: s.mon, timed: true}
	for _, fn := range [...]symbol{symEventSetFree, symRegisterEvents, symEventSetWait} {
		if !s.lib.has(fn) {
			return &CallError{Func: fn.String(), Code: ErrorNotSupported}
		}
	}
	set, ok := c.uint64(strict, symEventSetCreate)
	if !ok {
		return c.err
	}
	n, ok := c.uint32(strict, symGetCount)
	if !ok {
		return errors.Join(c.err, s.freeSet(uintptr(set)))
	}
	var devices []watchedDevice
	var errs []error
	for i := range int(n) {
		d := caller{lib: s.lib, buf: s.evBuf, mon: s.mon, timed: true}
		h, ok := d.handle(i)
		uuid := d.string(strict, symGetUUID, h)
		if ok && register(&d, h, uintptr(set)) {
			devices = append(devices, watchedDevice{handle: h, index: int64(i), uuid: uuid})
		}
		if d.err != nil {
			errs = append(errs, fmt.Errorf("events of hpu %d not watched: %w", i, d.err))
		}
	}
	if len(devices) == 0 {
		cause := errors.Join(errs...)
		if cause == nil {
			cause = &CallError{Func: symRegisterEvents.String(), Code: ErrorNotSupported}
		}
		return errors.Join(fmt.Errorf("no HPU accepts event registration: %w", cause), s.freeSet(uintptr(set)))
	}
	s.events = eventSet{set: uintptr(set), devices: devices}
	return errors.Join(errs...)
}

// register registers h for the watched events; a device that refuses the whole mask with
// NOT_SUPPORTED is registered for each type it supports. False when it accepted none.
func register(c *caller, h, set uintptr) bool {
	rc, err := c.raw(symRegisterEvents, []uintptr{h, uintptr(watchedEvents), set})
	switch {
	case err != nil:
		c.err = err
		return false
	case rc == Success:
		return true
	case rc != ErrorNotSupported:
		c.err = &CallError{Func: symRegisterEvents.String(), Code: rc}
		return false
	}
	accepted := false
	for _, k := range eventKinds {
		accepted = c.invoke(strict, symRegisterEvents, []uintptr{h, uintptr(k.bit), set}) == Success || accepted
		if errors.Is(c.err, ErrorNotSupported) {
			c.err = nil // this type only
		}
	}
	return accepted && c.err == nil
}

func (s *Source) freeSet(set uintptr) error {
	if rc := s.lib.call(symEventSetFree, []uintptr{set}); rc != Success {
		return &CallError{Func: symEventSetFree.String(), Code: rc}
	}
	return nil
}

// waitSlice waits at most d (at least a millisecond) for a first event, then drains those
// already queued, holding the turn and the lock of the library.
func (s *Source) waitSlice(ctx context.Context, d time.Duration) ([]hpu.Event, error) {
	if err := s.turn.acquire(ctx, "waiting for HLML events"); err != nil {
		return nil, err
	}
	defer s.turn.release()
	if err := s.lock.acquire(ctx, "waiting for HLML events"); err != nil {
		return nil, err
	}
	defer s.lock.release()
	if s.lib == nil {
		return nil, ErrNotRunning
	}
	c := caller{lib: s.lib, buf: s.evBuf, mon: s.mon, timed: true}
	data := c.buf.event
	ms := uintptr(max(d, drainWait) / time.Millisecond)
	var events []hpu.Event
	for len(events) < maxEventBatch {
		rc, err := c.raw(symEventSetWait, []uintptr{s.events.set, data.ptr(), ms}, data)
		switch {
		case err != nil:
			return events, err
		case rc == ErrorTimeout:
			return events, nil
		case rc != Success:
			return events, &CallError{Func: symEventSetWait.String(), Code: rc}
		}
		events = s.decode(events, data, time.Now())
		ms = uintptr(drainWait / time.Millisecond)
	}
	return events, nil
}

// decode appends the events of one hlml_event_data_t: one per known bit set, and one of kind
// "unknown(0x…)" for any other bits.
func (s *Source) decode(dst []hpu.Event, data buffer, at time.Time) []hpu.Event {
	handle := uintptr(data.uint64(eventDeviceOffset))
	bits := data.uint64(eventTypeOffset)
	e := hpu.Event{Time: at, Index: -1}
	for _, w := range s.events.devices {
		if w.handle == handle {
			e.Index, e.UUID = w.index, w.uuid
			break
		}
	}
	for _, k := range eventKinds {
		if bits&k.bit != 0 {
			e.Kind = k.kind
			dst = append(dst, e)
			bits &^= k.bit
		}
	}
	if bits != 0 {
		e.Kind = hpu.EventKind(fmt.Sprintf("unknown(%#x)", bits))
		dst = append(dst, e)
	}
	return dst
}
