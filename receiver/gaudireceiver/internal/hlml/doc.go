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
// builds it).
//
// # Struct layouts
//
// Some HLML structs grew between releases (hlml_pci_info_t, hlml_utilization_t), and a
// dynamically loaded library gives no header to compile against. Every out-buffer is therefore
// sized for the larger, newer layout, only fields at offsets common to both layouts are read,
// and each buffer is followed by 16 guard bytes that are checked after every call: a library
// that writes past the size this package expects makes the device fail with an error, and the
// guard absorbs the first 16 bytes of such a write instead of other memory.
//
// # Errors
//
// HLML_ERROR_NOT_SUPPORTED (and NO_DATA, "no value yet") leave that one reading invalid; any
// other error on a device call sets that device's Err, wrapped as a *CallError naming the
// function and the return code, and stops reading that device this time, so one lost device
// never hides the others. A failing hlml_device_get_count fails the whole Read. Symbols other
// than the few every release has are optional: a library without one reads as NOT_SUPPORTED.
//
// # Concurrency and contexts
//
// HLML calls cannot be interrupted. Read checks its context between devices, so a deadline is
// honoured within one device's calls; WaitEvents waits in slices of at most 100 ms and checks
// its context and Shutdown between them. Shutdown waits for a library call in flight (never
// calling hlml_shutdown under it) but returns when its context ends, finishing in the background.
// Read and WaitEvents (hpu.EventSource) may call the library from two threads at once. HLML
// does not document its thread safety; this assumes what NVML guarantees, that an event wait
// may run beside other calls. Should that prove false on hardware, waitSlice must take mu for
// writing and wait in short slices.
package hlml
