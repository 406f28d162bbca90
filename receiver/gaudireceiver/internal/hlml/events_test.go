package hlml

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// withoutTime drops the receive times, after checking they were set.
func withoutTime(t *testing.T, events []hpu.Event) []hpu.Event {
	t.Helper()
	for i := range events {
		assert.False(t, events[i].Time.IsZero())
		events[i].Time = time.Time{}
	}
	return events
}

func uuid(i int) string { return fakeDevice(i).UUID }

func TestWaitEventsDeliversQueuedEventsWithIdentity(t *testing.T) {
	s := startSource(t, "event 3 critical", "event 5 ecc_single_bit", "event 1 dram", "event 2 ecc_double_bit", "event 4 clock_rate")
	events, err := s.WaitEvents(context.Background(), time.Second)
	require.NoError(t, err)
	assert.Equal(t, []hpu.Event{
		{Index: 3, UUID: uuid(3), Kind: hpu.EventCritical},
		{Index: 5, UUID: uuid(5), Kind: hpu.EventECCSingleBit},
		{Index: 1, UUID: uuid(1), Kind: hpu.EventDRAM},
		{Index: 2, UUID: uuid(2), Kind: hpu.EventECCDoubleBit},
	}, withoutTime(t, events), "clock rate changes are not registered")
}

func TestWaitEventsTimesOutEmpty(t *testing.T) {
	s := startSource(t)
	events, err := s.WaitEvents(context.Background(), 20*time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, events)
}

func TestWaitEventsWakesOnAnEvent(t *testing.T) {
	fake := useScenario(t)
	s := startOn(t, fake)
	type result struct {
		events []hpu.Event
		err    error
	}
	done := make(chan result)
	go func() {
		events, err := s.WaitEvents(context.Background(), time.Minute)
		done <- result{events, err}
	}()
	fake.AwaitWaiter(t)
	fake.InjectEvent(t, 6, eventCritical)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, []hpu.Event{{Index: 6, UUID: uuid(6), Kind: hpu.EventCritical}}, withoutTime(t, r.events))
}

func TestWaitEventsEndsWithItsContext(t *testing.T) {
	fake := useScenario(t)
	s := startOn(t, fake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.WaitEvents(ctx, time.Minute)
		done <- err
	}()
	fake.AwaitWaiter(t)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestWaitEventsEndsWithShutdown(t *testing.T) {
	fake := useScenario(t)
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	done := make(chan error)
	go func() {
		_, err := s.WaitEvents(context.Background(), time.Minute)
		done <- err
	}()
	fake.AwaitWaiter(t)
	require.NoError(t, s.Shutdown(context.Background()))
	require.ErrorIs(t, <-done, ErrNotRunning)
	assert.Equal(t, 0, fake.LiveEventSets(t))
	assert.Equal(t, 1, fake.ShutdownCount(t))
	assert.Equal(t, 0, fake.UninitializedCalls(t), "no wait ran after hlml_shutdown")
}

func TestWaitEventsReportsUnregisteredDevicesOnce(t *testing.T) {
	s := startSource(t, "error 2 hlml_device_register_events AIP_IS_LOST", "event 2 critical", "event 4 critical")
	_, err := s.WaitEvents(context.Background(), time.Second)
	require.ErrorIs(t, err, ErrorAIPIsLost)
	assert.EqualError(t, err, "events of hpu 2 not watched: hlml_device_register_events: HLML_ERROR_AIP_IS_LOST")
	events, err := s.WaitEvents(context.Background(), time.Second)
	require.NoError(t, err)
	assert.Equal(t, []hpu.Event{{Index: 4, UUID: uuid(4), Kind: hpu.EventCritical}}, withoutTime(t, events))
}

func TestWaitEventsRegistersTypesOneByOne(t *testing.T) {
	// Device 0 refuses the whole mask once; it is then registered type by type.
	s := startSource(t, "error 0 hlml_device_register_events NOT_SUPPORTED 1", "event 0 ecc_double_bit")
	events, err := s.WaitEvents(context.Background(), time.Second)
	require.NoError(t, err)
	assert.Equal(t, []hpu.Event{{Index: 0, UUID: uuid(0), Kind: hpu.EventECCDoubleBit}}, withoutTime(t, events))
}

func TestWaitEventsNotSupported(t *testing.T) {
	fake := useScenario(t, "error * hlml_device_register_events NOT_SUPPORTED")
	s := startOn(t, fake)
	_, err := s.WaitEvents(context.Background(), time.Second)
	require.ErrorIs(t, err, ErrorNotSupported)
	assert.ErrorContains(t, err, "no HPU accepts event registration")
	assert.Equal(t, 0, fake.LiveEventSets(t), "the empty set is freed")
}

func TestWaitEventsError(t *testing.T) {
	s := startSource(t, "error - hlml_event_set_wait UNKNOWN")
	_, err := s.WaitEvents(context.Background(), time.Second)
	require.ErrorIs(t, err, ErrorUnknown)
	assert.EqualError(t, err, "hlml_event_set_wait: HLML_ERROR_UNKNOWN")
}

func TestWaitEventsCatchesOverrun(t *testing.T) {
	s := startSource(t, "overrun hlml_event_set_wait 8", "event 1 critical")
	_, err := s.WaitEvents(context.Background(), time.Second)
	require.ErrorIs(t, err, errOverrun)
	assert.ErrorContains(t, err, "hlml_event_set_wait wrote past its buffer of 16 bytes")
}

func TestDecodeSplitsBits(t *testing.T) {
	s := &Source{events: eventSet{devices: []watchedDevice{{handle: 0x1000, index: 7, uuid: "u7"}}}}
	data := newOutBuffers().event
	at := time.Unix(1, 0)
	binary.NativeEndian.PutUint64(data[eventDeviceOffset:], 0x1000)
	binary.NativeEndian.PutUint64(data[eventTypeOffset:], eventCritical|eventECCSingleBit|1<<2|1<<9)
	assert.Equal(t, []hpu.Event{
		{Time: at, Index: 7, UUID: "u7", Kind: hpu.EventCritical},
		{Time: at, Index: 7, UUID: "u7", Kind: hpu.EventECCSingleBit},
		{Time: at, Index: 7, UUID: "u7", Kind: "unknown(0x204)"},
	}, s.decode(nil, data, at))

	binary.NativeEndian.PutUint64(data[eventDeviceOffset:], 0x2000)
	binary.NativeEndian.PutUint64(data[eventTypeOffset:], eventDRAM)
	assert.Equal(t, []hpu.Event{{Time: at, Index: -1, Kind: hpu.EventDRAM}}, s.decode(nil, data, at), "a handle not registered")
}

func TestReadWhileWaitingForEvents(t *testing.T) {
	fake := useScenario(t)
	s := startOn(t, fake)
	done := make(chan []hpu.Event)
	go func() {
		events, err := s.WaitEvents(context.Background(), time.Minute)
		assert.NoError(t, err)
		done <- events
	}()
	fake.AwaitWaiter(t)
	for range 3 {
		assert.Equal(t, fakeDevices(8), read(t, s))
	}
	fake.InjectEvent(t, 0, eventDRAM)
	assert.Equal(t, []hpu.Event{{Index: 0, UUID: uuid(0), Kind: hpu.EventDRAM}}, withoutTime(t, <-done))
}
