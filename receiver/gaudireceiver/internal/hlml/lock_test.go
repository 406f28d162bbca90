package hlml

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// TestOneCallAtATime reads and waits for events from several goroutines at once while events
// arrive (run it with -race): every Read is complete, every event arrives once, and the fake
// library never had two calls in flight, since HLML documents no thread safety.
func TestOneCallAtATime(t *testing.T) {
	fake := useScenario(t)
	s := startOn(t, fake)
	const events, reads, readers = 40, 15, 3

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	received := make(chan hpu.Event, events)
	var waiters sync.WaitGroup
	waiters.Go(func() {
		for ctx.Err() == nil {
			got, err := s.WaitEvents(ctx, 50*time.Millisecond)
			if ctx.Err() == nil {
				assert.NoError(t, err)
			}
			for _, e := range got {
				received <- e
			}
		}
	})
	var readersWG sync.WaitGroup
	for range readers {
		readersWG.Go(func() {
			var devices []hpu.Device
			for range reads {
				var err error
				devices, err = s.Read(context.Background(), time.Now(), devices[:0])
				assert.NoError(t, err)
				assert.Equal(t, fakeDevices(8), devices)
			}
		})
	}
	fake.AwaitWaiter(t)
	for i := range events {
		fake.InjectEvent(t, i%8, eventCritical)
	}
	readersWG.Wait()
	seen := make([]int, 8)
	for range events {
		select {
		case e := <-received:
			assert.Equal(t, hpu.EventCritical, e.Kind)
			seen[e.Index]++
		case <-time.After(30 * time.Second):
			t.Fatalf("only %v of %d events arrived", seen, events)
		}
	}
	cancel()
	waiters.Wait()
	assert.Equal(t, []int{5, 5, 5, 5, 5, 5, 5, 5}, seen)
	assert.Equal(t, 1, fake.MaxConcurrentCalls(t), "HLML was entered by one thread at a time")
	assert.Greater(t, fake.Calls(t, "hlml_event_set_wait"), 1, "waited in slices")
}

// TestShutdownWithAWaitThatNeverReturns: an hlml_event_set_wait that never returns holds the
// library; Read gives up at its deadline, Shutdown returns at its context's end and finishes
// once the call returns, and nothing is called after hlml_shutdown.
func TestShutdownWithAWaitThatNeverReturns(t *testing.T) {
	fake := useScenario(t, "hang - hlml_event_set_wait")
	s, err := New(testConfig(fake.Path), testSettings(t))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))

	waiting := make(chan error, 1)
	go func() {
		_, err := s.WaitEvents(context.Background(), time.Minute)
		waiting <- err
	}()
	fake.AwaitDelay(t)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Read(ctx, time.Now(), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "an HLML call in flight has not returned")

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "finishing in the background")
	assert.Zero(t, fake.ShutdownCount(t), "not under the call in flight")

	fake.ReleaseHangs(t)
	require.ErrorIs(t, <-waiting, ErrNotRunning, "the wait ends with the shutdown")
	require.Eventually(t, func() bool { return fake.ShutdownCount(t) == 1 }, 30*time.Second, time.Millisecond)
	require.NoError(t, s.Shutdown(context.Background()), "done: nothing left to do")
	assert.Equal(t, 1, fake.ShutdownCount(t))
	assert.Zero(t, fake.UninitializedCalls(t), "no call after hlml_shutdown")
	assert.Zero(t, fake.LiveEventSets(t))
}

// TestEventWaitsNeverUseZero: the fake treats a timeout of 0 as "forever" (what 0 means is
// undocumented); the drain after an event and a WaitEvents with no time left both wait 1 ms.
func TestEventWaitsNeverUseZero(t *testing.T) {
	fake := useScenario(t, "event 1 critical", "event 2 dram", "event 3 ecc_single_bit")
	s := startOn(t, fake)
	events, err := s.WaitEvents(context.Background(), time.Second)
	require.NoError(t, err)
	assert.Len(t, events, 3, "one wait, then drained")
	got, err := s.WaitEvents(context.Background(), 0)
	require.NoError(t, err)
	assert.Empty(t, got)
	ms, ok := fake.MinWaitTimeout(t)
	require.True(t, ok)
	assert.Equal(t, 1, ms)
}
