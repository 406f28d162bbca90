package hlml

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// fakeLibrary is the built fake and a handle of the tests' own on it, which keeps it loaded
// (and its counters alive) across the Sources' dlopen/dlclose cycles and reaches its controls.
type fakeLibrary struct {
	path    string
	notHLML string // a shared library without HLML's symbols
	handle  uintptr
}

func buildFake(dir string) (*fakeLibrary, error) {
	cc := cmp.Or(os.Getenv("CC"), "gcc")
	f := &fakeLibrary{path: filepath.Join(dir, "libhlml.so"), notHLML: filepath.Join(dir, "libnothlml.so")}
	other := filepath.Join(dir, "nothlml.c")
	if err := os.WriteFile(other, []byte("int not_hlml(void) { return 0; }\n"), 0o600); err != nil {
		return nil, err
	}
	for _, build := range [][]string{
		{"-shared", "-fPIC", "-pthread", "-O2", "-Wall", "-Wextra", "-std=c11", "-D_POSIX_C_SOURCE=200809L",
			"-o", f.path, filepath.Join("testdata", "fakehlml", "fakehlml.c")},
		{"-shared", "-fPIC", "-o", f.notHLML, other},
	} {
		if out, err := exec.Command(cc, build...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s %s: %w\n%s", cc, strings.Join(build, " "), err, out)
		}
	}
	h, err := purego.Dlopen(f.path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, err
	}
	f.handle = h
	return f, nil
}

func (f *fakeLibrary) close() { _ = purego.Dlclose(f.handle) }

func (f *fakeLibrary) call(t testing.TB, name string, args ...uintptr) uintptr {
	t.Helper()
	fn, err := purego.Dlsym(f.handle, name)
	require.NoError(t, err)
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}

func (f *fakeLibrary) counter(t testing.TB, name string) int {
	return int(uint32(f.call(t, name)))
}

func (f *fakeLibrary) initCount(t testing.TB) int { return f.counter(t, "fake_hlml_init_count") }
func (f *fakeLibrary) shutdownCount(t testing.TB) int {
	return f.counter(t, "fake_hlml_shutdown_count")
}
func (f *fakeLibrary) liveEventSets(t testing.TB) int {
	return f.counter(t, "fake_hlml_live_event_sets")
}

// uninitializedCalls counts calls made while HLML was not initialised: a call racing
// hlml_shutdown would show here.
func (f *fakeLibrary) uninitializedCalls(t testing.TB) int {
	return f.counter(t, "fake_hlml_uninitialized_calls")
}

func (f *fakeLibrary) injectEvent(t testing.TB, index int, bit uint64) {
	require.Zero(t, int32(uint32(f.call(t, "fake_hlml_inject_event", uintptr(index), uintptr(bit)))))
}

// awaitWaiter blocks until a call is inside hlml_event_set_wait, and awaitDelay until one is
// inside a scenario delay: synchronisation through the fake's condition variable, not sleeps.
func (f *fakeLibrary) awaitWaiter(t testing.TB) {
	require.Equal(t, 1, int(int32(uint32(f.call(t, "fake_hlml_await_waiter", 10_000)))), "no call entered hlml_event_set_wait")
}

func (f *fakeLibrary) awaitDelay(t testing.TB) {
	require.Equal(t, 1, int(int32(uint32(f.call(t, "fake_hlml_await_delay", 10_000)))), "no call entered a delay")
}

func (f *fakeLibrary) layout(t testing.TB, what string) int {
	t.Helper()
	fn, err := purego.Dlsym(f.handle, "fake_hlml_layout")
	require.NoError(t, err)
	s := append([]byte(what), 0)
	r, _, _ := purego.SyscallN(fn, uintptr(unsafe.Pointer(&s[0])))
	v := int(int64(r))
	require.NotEqual(t, -1, v, "the fake does not know %q", what)
	return v
}

// useScenario makes the next hlml_init read these scenario lines (none: the defaults).
func useScenario(t *testing.T, lines ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	t.Setenv("FAKE_HLML_SCENARIO", path)
	fake.call(t, "fake_hlml_reset_counters")
}

// startSource starts a Source on the fake with a scenario and shuts it down at the end.
func startSource(t *testing.T, lines ...string) *Source {
	t.Helper()
	useScenario(t, lines...)
	s, err := New(Config{LibraryPath: fake.path})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, s.Shutdown(context.Background())) })
	return s
}

func read(t *testing.T, s *Source) []hpu.Device {
	t.Helper()
	devices, err := s.Read(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	return devices
}

// fakeDevice is the fake's default device i (set_defaults in fakehlml.c) as the source must
// report it: the conversions (mW→W, mJ→J, MHz→Hz, KB/s→B/s) are spelled out here.
func fakeDevice(i int) hpu.Device {
	busIDs := [...]string{"0000:e9:00.0", "0000:c1:00.0", "0000:b7:00.0", "0000:ad:00.0", "0000:a3:00.0", "0000:df:00.0", "0000:d5:00.0", "0000:cb:00.0"}
	moduleIDs := [...]int64{2, 3, 0, 1, 6, 7, 4, 5}
	ports := make([]hpu.NICPort, 24)
	for p := range ports {
		ports[p] = hpu.NICPort{Port: int64(p), External: p == 8 || p == 22 || p == 23, Up: true}
	}
	const mib = 1 << 20
	return hpu.Device{
		Index: int64(i),
		UUID:  fmt.Sprintf("01P4-HL3090A0-18-U4V193-22-07-%02d", i),
		Info: hpu.Info{
			Model: "HL-325L", Serial: fmt.Sprintf("AN500161%02d", i), ModuleID: moduleIDs[i], PCIBusID: busIDs[i],
			DriverVersion: "1.22.1-97ec1a4", FirmwareVersion: "hl-1.22.1-fw-59.2.3.0",
		},
		Operational:        hpu.Some(true),
		Utilization:        hpu.Some(float64(3 * i)),
		MemoryUsed:         hpu.Some(int64(672 * mib)),
		MemoryFree:         hpu.Some(int64((131072 - 672) * mib)),
		MemoryTotal:        hpu.Some(int64(131072 * mib)),
		TemperatureOnChip:  hpu.Some(float64(36 + i/2)),
		TemperatureOnBoard: hpu.Some(float64(32 + i/2)),
		TemperatureLimits: hpu.TemperatureLimits{
			Slowdown: hpu.Some(93.0), Shutdown: hpu.Some(103.0), MemoryMax: hpu.Some(125.0), AIPMax: hpu.Some(90.0),
		},
		Power:              hpu.Some(float64(226000+500*i) / 1000),
		PowerLimit:         hpu.Some(850.0),
		Energy:             hpu.Some(float64(1_000_000_000+1_234_567*i) / 1000),
		ClockSoC:           hpu.Some(int64(1600_000_000)),
		ClockSoCMax:        hpu.Some(int64(1600_000_000)),
		ThrottledPower:     hpu.Some(false),
		ThrottledThermal:   hpu.Some(false),
		PCIeReceive:        hpu.Some(float64(1200+10*i) * 1000),
		PCIeTransmit:       hpu.Some(float64(800+10*i) * 1000),
		PCIeReplays:        hpu.Some(int64(i)),
		PCIeLinkGen:        hpu.Some(int64(5)),
		PCIeLinkWidth:      hpu.Some(int64(16)),
		ECCEnabled:         hpu.Some(true),
		RowsReplacedSingle: hpu.Some(int64(i % 3)),
		RowsReplacedDouble: hpu.Some(int64(0)),
		RowsPending:        hpu.Some(false),
		NICPorts:           ports,
	}
}

func fakeDevices(n int) []hpu.Device {
	devices := make([]hpu.Device, n)
	for i := range devices {
		devices[i] = fakeDevice(i)
	}
	return devices
}
