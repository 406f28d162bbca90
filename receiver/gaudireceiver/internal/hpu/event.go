package hpu

import (
	"context"
	"time"
)

// EventKind is what happened on a device, named after HLML's event types.
type EventKind string

const (
	EventCritical     EventKind = "critical"
	EventECCDoubleBit EventKind = "ecc_double_bit"
	EventECCSingleBit EventKind = "ecc_single_bit"
	EventDRAM         EventKind = "dram"
)

// Event is one device event, delivered as a log record by the receiver.
type Event struct {
	Time  time.Time
	Index int64
	UUID  string
	Kind  EventKind
}

// EventSource is implemented by sources that can deliver device events (HLML can; hl-smi and
// sysfs cannot).
type EventSource interface {
	// WaitEvents blocks until events arrive, timeout passes or ctx ends, and returns the events
	// that arrived (none on a timeout).
	WaitEvents(ctx context.Context, timeout time.Duration) ([]Event, error)
}
