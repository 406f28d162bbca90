package hlmltest

import (
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Fake is the fake library loaded into the test process. Holding it keeps the library, and its
// counters, alive across the dlopen/dlclose cycles of the Sources under test (a process loads a
// path once, so they share this instance), and reaches the fake's fake_hlml_* controls.
type Fake struct {
	// Path is the built library, for hlml.Config.LibraryPath.
	Path   string
	handle uintptr
}

// LoadFake builds the fake (see BuildFakeLibrary) and loads it until tb ends.
func LoadFake(tb testing.TB) *Fake {
	tb.Helper()
	path := BuildFakeLibrary(tb)
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		tb.Fatalf("loading the fake HLML library: %v", err)
	}
	tb.Cleanup(func() {
		if err := purego.Dlclose(h); err != nil {
			tb.Errorf("unloading the fake HLML library: %v", err)
		}
	})
	return &Fake{Path: path, handle: h}
}

func (f *Fake) symbol(tb testing.TB, name string) uintptr {
	tb.Helper()
	fn, err := purego.Dlsym(f.handle, name)
	if err != nil {
		tb.Fatalf("the fake HLML library has no %s: %v", name, err)
	}
	return fn
}

// call calls a control with integer arguments (pointers must be converted in the call to
// SyscallN itself, as Layout does, to stay valid).
func (f *Fake) call(tb testing.TB, name string, args ...uintptr) uintptr {
	tb.Helper()
	r, _, _ := purego.SyscallN(f.symbol(tb, name), args...)
	return r
}

// counter calls a control returning a C unsigned int.
func (f *Fake) counter(tb testing.TB, name string) int {
	tb.Helper()
	return int(uint32(f.call(tb, name)))
}

// InitCount counts hlml_init calls since the library was loaded or ResetCounters.
func (f *Fake) InitCount(tb testing.TB) int { return f.counter(tb, "fake_hlml_init_count") }

// ShutdownCount counts hlml_shutdown calls since the library was loaded or ResetCounters.
func (f *Fake) ShutdownCount(tb testing.TB) int { return f.counter(tb, "fake_hlml_shutdown_count") }

// LiveEventSets counts event sets created and not freed.
func (f *Fake) LiveEventSets(tb testing.TB) int { return f.counter(tb, "fake_hlml_live_event_sets") }

// UninitializedCalls counts calls made while HLML was not initialised: a call racing
// hlml_shutdown would show here.
func (f *Fake) UninitializedCalls(tb testing.TB) int {
	return f.counter(tb, "fake_hlml_uninitialized_calls")
}

// ResetCounters zeroes the counters (init, shutdown, uninitialised calls, calls per function,
// the most calls in flight, the shortest event wait) and holds calls that hang again.
func (f *Fake) ResetCounters(tb testing.TB) { f.call(tb, "fake_hlml_reset_counters") }

// Calls counts the calls of an HLML function since the counters were reset.
func (f *Fake) Calls(tb testing.TB, function string) int {
	tb.Helper()
	s := append([]byte(function), 0)
	r, _, _ := purego.SyscallN(f.symbol(tb, "fake_hlml_calls"), uintptr(unsafe.Pointer(&s[0])))
	return int(uint32(r))
}

// TotalCalls counts the calls of every HLML function since the counters were reset.
func (f *Fake) TotalCalls(tb testing.TB) int64 { return int64(f.call(tb, "fake_hlml_total_calls")) }

// MaxConcurrentCalls is the most HLML calls that were in flight at once since the counters were
// reset: 1 when every call is serialised.
func (f *Fake) MaxConcurrentCalls(tb testing.TB) int {
	return f.counter(tb, "fake_hlml_max_concurrent_calls")
}

// MinWaitTimeout is the shortest timeout, in ms, hlml_event_set_wait was given since the counters
// were reset; ok is false when it was not called.
func (f *Fake) MinWaitTimeout(tb testing.TB) (ms int, ok bool) {
	v := uint32(f.call(tb, "fake_hlml_min_wait_timeout"))
	return int(v), v != ^uint32(0)
}

// LeakedBytes is what the scenario's leak directives leaked since the library was loaded.
func (f *Fake) LeakedBytes(tb testing.TB) int64 { return int64(f.call(tb, "fake_hlml_leaked_bytes")) }

// ReleaseHangs lets the calls a hang directive holds return, and later ones not hang, until the
// counters are reset.
func (f *Fake) ReleaseHangs(tb testing.TB) { f.call(tb, "fake_hlml_release_hangs") }

// InjectEvent queues an event of type bit (HLML_EVENT_*) for device index, waking a waiter.
func (f *Fake) InjectEvent(tb testing.TB, index int, bit uint64) {
	tb.Helper()
	if rc := int32(uint32(f.call(tb, "fake_hlml_inject_event", uintptr(index), uintptr(bit)))); rc != 0 {
		tb.Fatalf("fake_hlml_inject_event(%d, %#x) = %d", index, bit, rc)
	}
}

// awaitTimeoutMs bounds the Await calls, so that a broken test fails instead of hanging.
const awaitTimeoutMs = 10_000

// AwaitWaiter blocks until a call is inside hlml_event_set_wait, and AwaitDelay until one is
// inside a scenario delay: synchronisation through the fake's condition variable, not sleeps.
func (f *Fake) AwaitWaiter(tb testing.TB) { f.await(tb, "fake_hlml_await_waiter") }

// AwaitDelay: see AwaitWaiter.
func (f *Fake) AwaitDelay(tb testing.TB) { f.await(tb, "fake_hlml_await_delay") }

func (f *Fake) await(tb testing.TB, control string) {
	tb.Helper()
	if int32(uint32(f.call(tb, control, awaitTimeoutMs))) != 1 {
		tb.Fatalf("%s: nothing arrived within %d ms", control, awaitTimeoutMs)
	}
}

// Layout is the C compiler's view of a struct layout or enum value in the fake's header, by the
// names of testdata/fakehlml/layout.h ("sizeof(hlml_pci_info_t)", "HLML_TEMPERATURE_HBM", ...).
func (f *Fake) Layout(tb testing.TB, what string) int {
	tb.Helper()
	fn := f.symbol(tb, "fake_hlml_layout")
	s := append([]byte(what), 0)
	r, _, _ := purego.SyscallN(fn, uintptr(unsafe.Pointer(&s[0])))
	v := int(int64(r))
	if v == -1 {
		tb.Fatalf("the fake does not know the layout %q", what)
	}
	return v
}
