// Package hlml is the HPU source backed by Intel's HLML library (libhlml.so), the C API
// beneath hl-smi. The library is loaded at run time from a configurable path, so the collector
// builds anywhere and starts on nodes without it; only Start then fails.
//
// # Why purego and not cgo
//
// ocb builds the distribution with CGO_ENABLED=0. A cgo dlopen shim would force
// dist.cgo_enabled and a C toolchain on every build of the distribution, and linking libhlml at
// build time (as Intel's gohlml does) would also need the library on the build machine. purego
// (github.com/ebitengine/purego) calls dlopen, dlsym and the C functions from pure Go, so the
// package builds with cgo off. A call costs about what a cgo call costs: both go through
// runtime.cgocall. The price is that a binary importing this package is dynamically linked
// against glibc's loader (purego imports dlopen from libc), so it does not run on scratch or
// musl images.
//
// Calls go through purego.SyscallN with uintptr arguments rather than RegisterFunc, whose
// reflect-based wrappers allocate on every call. Every pointer handed to the library points into
// buffers the Source allocates once and pins (runtime.Pinner) while the library is loaded, and
// the library keeps none of them after a call returns, so a steady-state Read allocates nothing.
// The tests run the same code with cgo on (race detector) and off (purego's fakecgo, as ocb
// builds it, with the fake library built with AddressSanitizer: make hlml-asan-test).
//
// # Struct layouts
//
// Some HLML structs grew between releases (hlml_pci_info_t, hlml_utilization_t), and a
// dynamically loaded library gives no header to compile against. Every out-buffer is therefore
// sized for the larger, newer layout, only fields at offsets common to both layouts are read,
// and each buffer is followed by 16 guard bytes that are checked after every call: a library
// that writes past the size this package expects makes the device fail with an error, and the
// guard absorbs the first 16 bytes of such a write instead of other memory. The layouts and
// enum values come from Habana's hlml.h (older) and Intel's pyhlml 1.24 types (newer); the fake
// library's header is written from the same definitions and TestLayoutsMatchTheHeader checks
// the constants against it. hlml_nic_get_statistics is told nothing of its buffers' size, so
// they hold HABANA_LINK_CNT_MAX_NUM (256) counters, as pyhlml allocates them.
//
// # Errors
//
// Only the codes that mean the device (or the driver) is gone fail a device: UNINITIALIZED,
// DRIVER_NOT_LOADED and AIP_IS_LOST, and any failure of the two calls without which nothing can
// be read or named (the handle, the UUID); the device's Err is then a *CallError naming the
// function and code, and no more calls are made to it this time, so one lost device never
// hides the others. Any other code (TIMEOUT, INVALID_ARGUMENT, UNKNOWN, ...: an unprivileged
// collector, a call a generation lacks) leaves only that one reading invalid: it is counted per
// function and code on otelcol_receiver_gaudi_hlml_call_errors (NOT_SUPPORTED and NO_DATA, "no
// value", are not errors) and logged once per change of that call's state (failing, backing off,
// working again), never once per scrape. After Backoff.Failures consecutive failures (or
// NOT_SUPPORTED answers) a call of one device is skipped for Backoff.Period. A failing
// hlml_device_get_count fails the whole Read. hlml_get_driver_version, outside any device, follows
// the same policy: UNINITIALIZED or DRIVER_NOT_LOADED fail Start (or the Read); any other code
// leaves the driver version empty, and every Read asks again until it answers. Symbols other than
// the few every release has are optional: a library without one reads as NOT_SUPPORTED. Device
// UUIDs reach log lines Go-quoted unless they are printable text (hpu.CheckText).
//
// # One lock, and no wait without a deadline
//
// HLML documents no thread safety; nvtop and Intel's device plugin call it from one thread. Every
// call here holds one lock (a channel, so that waiting for it honours a context). The event wait
// runs in slices of at most 10 ms under that lock, and drains queued events with a 1 ms timeout,
// never 0, whose meaning HLML leaves undocumented. A Read holds a turn for its whole length and
// each slice takes it too, so a Read waits for one slice at most and the devices of one Read are
// read without events in between. Read checks its context between devices; a call that never
// returns makes Read, WaitEvents and Shutdown return at their deadlines instead of hanging (the
// call itself cannot be interrupted). Shutdown waits for the call in flight, never calling
// hlml_shutdown under it, and finishes in the background when its context ends first.
//
// # Cost: the slow tier
//
// Some calls go to the device's firmware: nvtop measured hlml_device_get_pcie_throughput at
// about 25 ms per call and direction on real hardware, so reading it for 8 devices takes 0.4 s.
// The expensive calls (PCIe throughput, ECC totals, NIC counters) and the readings that change
// too rarely to be worth a call each scrape (the power cap in force, the throttle times, which
// are counters) are the slow tier: a device reads them on one Read in SlowCallsEvery (by default
// at most once per 10 s of collection interval), the devices taking turns, and the other Reads
// report their last values again. The thermal thresholds and the default power limit are read
// once per device handle, with the identity. Call latency is sampled on each device's slow turn
// (every call of it, timed per function: otelcol_receiver_gaudi_hlml_calls, _call_time and
// _call_duration_max), so the fast path pays nothing for it.
//
// # Temperatures
//
// hlml_device_get_temperature leaks memory on every call in the libhlml releases nvtop examined.
// With TemperatureSource auto (the default) or hwmon, the temperatures come from the device's
// hwmon channels instead (package hwmon, as the sysfs source reads them), found under the host
// root through hlml_device_get_minor_number; auto falls back to HLML for a device without them.
//
// # Concurrency and contexts
//
// Read and WaitEvents (hpu.EventSource) may be called from different goroutines; the lock above
// serialises their calls.
package hlml
