package hlml

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// Source reads HPUs through libhlml.so. It implements hpu.Source, and WaitEvents.
type Source struct {
	cfg Config

	// mu guards the loaded library: every library call holds it for reading, Start and
	// Shutdown hold it for writing, so hlml_shutdown and dlclose never run under a call.
	mu            sync.RWMutex
	lib           *library
	driverVersion string
	events        eventSet

	// readMu serialises Read and guards what only Read uses; Shutdown does not take it, so it
	// waits for the device being read, not for the whole Read.
	readMu  sync.Mutex
	readBuf *outBuffers
	ids     []identity // by device index
	seen    int        // the most devices HLML enumerated since Start

	// evMu serialises WaitEvents and guards evBuf.
	evMu  sync.Mutex
	evBuf *outBuffers
}

var _ hpu.Source = (*Source)(nil)

// New returns a Source that loads cfg.LibraryPath on Start.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hlml config: %w", err)
	}
	return &Source{cfg: cfg, readBuf: newOutBuffers(), evBuf: newOutBuffers()}, nil
}

// Name implements hpu.Source.
func (*Source) Name() string { return "hlml" }

// Start loads the library and calls hlml_init once. A library that another user in this
// process already initialised answers HLML_ERROR_ALREADY_INITIALIZED, which is returned: the
// source must not share, or later shut down, someone else's session.
func (s *Source) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("starting the HLML source: %w", err)
	}
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lib != nil {
		return errors.New("hlml source already started")
	}
	lib, err := openLibrary(s.cfg.LibraryPath)
	if err != nil {
		return err
	}
	if rc := lib.call(symInit, nil); rc != Success {
		err := fmt.Errorf("initialising HLML from %q: %w", lib.path, &CallError{Func: symInit.String(), Code: rc})
		return errors.Join(err, lib.close())
	}
	s.readBuf.pin()
	s.evBuf.pin()
	c := caller{lib: lib, buf: s.readBuf}
	version := c.string(symGetDriverVersion)
	if c.err != nil {
		err := fmt.Errorf("HLML from %q is initialised but unusable: %w", lib.path, c.err)
		return errors.Join(err, s.release(lib))
	}
	s.lib, s.driverVersion = lib, version
	s.ids, s.seen = s.ids[:0], 0
	return nil
}

// Read implements hpu.Source. It reads the devices one after the other and checks ctx between
// them: a call in flight cannot be interrupted, so a deadline is honoured within the slowest
// device's calls, and the devices read so far are returned with the context's error.
// NIC port slices of the Devices in dst's spare capacity are reused.
func (s *Source) Read(ctx context.Context, _ time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	n, err := s.count()
	if err != nil {
		return dst, err
	}
	s.seen = max(s.seen, n)
	for len(s.ids) < s.seen {
		s.ids = append(s.ids, identity{})
	}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return dst, fmt.Errorf("read %d of %d HPUs before the context ended: %w", i, n, err)
		}
		var d *hpu.Device
		dst, d = appendDevice(dst)
		if !s.readDevice(i, d) {
			return dst[:len(dst)-1], ErrNotRunning
		}
	}
	// Devices seen earlier in this run that HLML no longer counts have fallen off the bus (or
	// their driver unbound them): report them failed rather than let them vanish silently.
	for i := n; i < s.seen; i++ {
		var d *hpu.Device
		dst, d = appendDevice(dst)
		d.Index, d.UUID = int64(i), s.ids[i].uuid
		d.Err = fmt.Errorf("hlml_device_get_count reports %d HPUs: %w", n, ErrDeviceGone)
	}
	return dst, nil
}

func (s *Source) count() (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.lib == nil {
		return 0, ErrNotRunning
	}
	c := caller{lib: s.lib, buf: s.readBuf, strict: true}
	n, ok := c.uint32(symGetCount)
	if !ok {
		return 0, c.err
	}
	return int(n), nil
}

// readDevice reads device i into d; false when the source was shut down meanwhile.
func (s *Source) readDevice(i int, d *hpu.Device) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.lib == nil {
		return false
	}
	c := caller{lib: s.lib, buf: s.readBuf}
	id := &s.ids[i]
	d.Index = int64(i)
	if h, ok := c.handle(i); ok {
		if !id.complete || id.handle != h {
			readIdentity(&c, h, id, s.driverVersion)
		}
		if c.err == nil {
			d.Info = id.info
			readReadings(&c, h, id, d)
		}
	}
	d.UUID = id.uuid
	if c.err != nil {
		*d = hpu.Device{Index: d.Index, UUID: id.uuid, Err: c.err, NICPorts: d.NICPorts[:0]}
	}
	return true
}

// appendDevice extends dst by one zero Device, keeping the NIC port slice that a previous
// Read left in that slot so that steady-state Reads do not allocate it again.
func appendDevice(dst []hpu.Device) ([]hpu.Device, *hpu.Device) {
	if len(dst) == cap(dst) {
		dst = append(dst, hpu.Device{})
		return dst, &dst[len(dst)-1]
	}
	dst = dst[:len(dst)+1]
	d := &dst[len(dst)-1]
	*d = hpu.Device{NICPorts: d.NICPorts[:0]}
	return dst, d
}

// Shutdown frees the event set, calls hlml_shutdown and closes the library. It waits for a
// library call in flight, since HLML calls cannot be interrupted; when ctx ends first it
// returns and the shutdown completes in the background once that call returns. Shutdown
// without a successful Start does nothing.
func (s *Source) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.shutdown() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("shutting down the HLML source: a library call is still in flight, finishing in the background: %w", ctx.Err())
	}
}

func (s *Source) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lib == nil {
		return nil
	}
	var errs []error
	if s.events.set != 0 {
		if rc := s.lib.call(symEventSetFree, []uintptr{s.events.set}); rc != Success {
			errs = append(errs, &CallError{Func: symEventSetFree.String(), Code: rc})
		}
	}
	s.events = eventSet{}
	errs = append(errs, s.release(s.lib))
	s.lib = nil
	return errors.Join(errs...)
}

// release calls hlml_shutdown, unpins the buffers and closes lib.
func (s *Source) release(lib *library) error {
	var err error
	if rc := lib.call(symShutdown, nil); rc != Success {
		err = &CallError{Func: symShutdown.String(), Code: rc}
	}
	s.readBuf.unpin()
	s.evBuf.unpin()
	return errors.Join(err, lib.close())
}
