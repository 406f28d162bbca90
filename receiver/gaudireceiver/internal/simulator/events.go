package simulator

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

var _ hpu.EventSource = (*Simulator)(nil)

// eventFaults are the faults that raise a device event when they start, as HLML would.
var eventFaults = map[FaultKind]hpu.EventKind{
	FaultFail:        hpu.EventCritical,
	FaultRowsPending: hpu.EventECCDoubleBit,
}

// eventLog delivers each scheduled event once, in time order.
type eventLog struct {
	mu        sync.Mutex
	scheduled []hpu.Event // sorted by Time
	delivered int
}

func (s *Simulator) scheduleEvents() {
	for _, f := range s.cfg.Faults {
		kind, ok := eventFaults[f.Kind]
		if !ok {
			continue
		}
		s.events.scheduled = append(s.events.scheduled, hpu.Event{
			Time: s.epoch.Add(f.After), Index: int64(f.Device), UUID: s.devices[f.Device].uuid, Kind: kind,
		})
	}
	slices.SortStableFunc(s.events.scheduled, func(a, b hpu.Event) int { return a.Time.Compare(b.Time) })
}

// WaitEvents implements hpu.EventSource: it returns the scheduled events that are due, waiting
// up to timeout for the next one.
func (s *Simulator) WaitEvents(ctx context.Context, timeout time.Duration) ([]hpu.Event, error) {
	deadline := s.now().Add(timeout)
	for {
		now := s.now()
		if due := s.events.take(now); len(due) > 0 {
			return due, nil
		}
		wake := deadline
		if next, ok := s.events.next(); ok && next.Before(wake) {
			wake = next
		}
		if !now.Before(deadline) {
			return nil, nil
		}
		timer := time.NewTimer(wake.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

func (l *eventLog) take(now time.Time) []hpu.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.delivered
	for l.delivered < len(l.scheduled) && !l.scheduled[l.delivered].Time.After(now) {
		l.delivered++
	}
	return slices.Clone(l.scheduled[start:l.delivered])
}

func (l *eventLog) next() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.delivered == len(l.scheduled) {
		return time.Time{}, false
	}
	return l.scheduled[l.delivered].Time, true
}
