package hlml

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hwmon"
)

// Source reads HPUs through libhlml.so. It implements hpu.Source, and WaitEvents.
type Source struct {
	cfg   Config
	set   Settings
	mon   *monitor
	every int // the slow tier's cadence, in Reads

	// lock is the one lock of the library: every call holds it, so that HLML, which documents
	// no thread safety, is never entered from two threads at once (nvtop and Intel's device
	// plugin keep it on one thread too). Start and Shutdown hold it, so hlml_shutdown and
	// dlclose never run under a call. It guards the fields up to turn.
	lock      token
	lib       *library
	events    eventSet
	hwmonConf *hwmon.Config
	// driverVersion is hlml_get_driver_version's answer once driverKnown; until then every Read
	// asks again, under the error policy of libCalls.
	driverVersion string
	driverKnown   bool
	libCalls      [numLibSlots]callState

	// turn is held by a Read for its whole length and by every slice of an event wait, so a
	// Read waits for at most one slice, and no slice slips in between its devices. It guards
	// what only Read uses; Shutdown does not take it, so it waits for the device being read,
	// not for the whole Read.
	turn    token
	readBuf *outBuffers
	devices []*deviceState // by device index
	seen    int            // the most devices HLML enumerated since Start
	reads   int            // Reads since Start, which the slow tier counts

	// evMu serialises WaitEvents and guards evBuf.
	evMu  sync.Mutex
	evBuf *outBuffers
}

var _ hpu.Source = (*Source)(nil)

// New returns a Source that loads cfg.LibraryPath on Start.
func New(cfg Config, set Settings) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hlml config: %w", err)
	}
	mon, err := newMonitor(set)
	if err != nil {
		return nil, err
	}
	if set.HostRoot == "" {
		set.HostRoot = "/"
	}
	return &Source{
		cfg: cfg, set: set, mon: mon, every: cfg.slowEvery(set.CollectionInterval),
		lock: newToken(), turn: newToken(), readBuf: newOutBuffers(), evBuf: newOutBuffers(),
	}, nil
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
	if err := s.turn.acquire(ctx, "start"); err != nil {
		return err
	}
	defer s.turn.release()
	if err := s.lock.acquire(ctx, "start"); err != nil {
		return err
	}
	defer s.lock.release()
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
	s.driverVersion, s.driverKnown, s.libCalls = "", false, [numLibSlots]callState{}
	c := s.libraryCaller(lib, time.Now())
	s.readDriverVersion(&c)
	if c.err != nil {
		err := fmt.Errorf("HLML from %q is initialised but unusable: %w", lib.path, c.err)
		return errors.Join(err, s.release(lib))
	}
	s.hwmonConf = &hwmon.Config{}
	if s.cfg.TemperatureSource != TemperatureHLML {
		conf, err := hwmon.LoadConfig(s.set.HostRoot)
		if err != nil {
			s.mon.logger.Warn("HPU temperatures from hwmon are read without the sensor labels", zap.Error(err))
		} else {
			s.hwmonConf = conf
		}
	}
	s.lib = lib
	s.devices, s.seen, s.reads = s.devices[:0], 0, 0
	return nil
}

// Read implements hpu.Source. It reads the devices one after the other and checks ctx between
// them: a call in flight cannot be interrupted, so a deadline is honoured within the slowest
// device's calls (or at once, when a call of someone else never returns), and the devices read
// so far are returned with the context's error. NIC port slices of the Devices in dst's spare
// capacity are reused.
func (s *Source) Read(ctx context.Context, now time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	if err := s.turn.acquire(ctx, "reading HPUs"); err != nil {
		return dst, err
	}
	defer s.turn.release()
	n, err := s.count(ctx, now)
	if err != nil {
		return dst, err
	}
	reads := s.reads
	s.reads++
	for i := range n {
		if err := ctx.Err(); err != nil {
			return dst, fmt.Errorf("read %d of %d HPUs before the context ended: %w", i, n, err)
		}
		var d *hpu.Device
		dst, d = appendDevice(dst)
		// The devices take turns in the slow tier, so that no Read makes all the slow calls.
		slowDue := (reads+i)%s.every == 0
		if err := s.readDevice(ctx, i, d, now, slowDue); err != nil {
			return dst[:len(dst)-1], fmt.Errorf("read %d of %d HPUs: %w", i, n, err)
		}
	}
	// Devices seen earlier in this run that HLML no longer counts have fallen off the bus (or
	// their driver unbound them): report them failed rather than let them vanish silently.
	for i := n; i < s.seen; i++ {
		var d *hpu.Device
		dst, d = appendDevice(dst)
		d.Index, d.UUID = int64(i), s.devices[i].uuid
		d.Err = fmt.Errorf("hlml_device_get_count reports %d HPUs: %w", n, ErrDeviceGone)
	}
	return dst, nil
}

// count asks how many devices there are, and makes room for their state (under the lock,
// which Shutdown holds when it releases that state). It asks for the driver version again while
// that has not been read.
func (s *Source) count(ctx context.Context, now time.Time) (int, error) {
	if err := s.lock.acquire(ctx, "reading HPUs"); err != nil {
		return 0, err
	}
	defer s.lock.release()
	if s.lib == nil {
		return 0, ErrNotRunning
	}
	c := s.libraryCaller(s.lib, now)
	if !s.driverKnown {
		s.readDriverVersion(&c)
	}
	n, ok := c.uint32(strict, symGetCount)
	if !ok {
		return 0, c.err
	}
	s.seen = max(s.seen, int(n))
	for len(s.devices) < s.seen {
		s.devices = append(s.devices, &deviceState{})
	}
	return int(n), nil
}

// libraryCaller makes the calls outside any device.
func (s *Source) libraryCaller(lib *library, now time.Time) caller {
	return caller{lib: lib, buf: s.readBuf, mon: s.mon, backoff: s.cfg.Backoff,
		index: noDevice, states: s.libCalls[:], now: now.UnixNano(), timed: true}
}

// readDriverVersion reads hlml_get_driver_version, which no device call can stand in for, under
// the error policy: UNINITIALIZED or DRIVER_NOT_LOADED set c.err (Start, or the Read, fails); any
// other code leaves the version empty, is counted and logged, and the next Read asks again.
func (s *Source) readDriverVersion(c *caller) {
	if v, ok := c.bytes(libSlotDriverVersion, symGetDriverVersion); ok {
		s.driverVersion, s.driverKnown = strings.TrimSpace(string(v)), true
	}
}

// readDevice reads device i into d. The error says why it could not be tried: the context
// ended while another call held the library, or the source was shut down meanwhile.
func (s *Source) readDevice(ctx context.Context, i int, d *hpu.Device, now time.Time, slowDue bool) error {
	if err := s.lock.acquire(ctx, "reading HPUs"); err != nil {
		return err
	}
	defer s.lock.release()
	if s.lib == nil {
		return ErrNotRunning
	}
	st := s.devices[i]
	slowDue = slowDue || !st.slowRead
	c := caller{lib: s.lib, buf: s.readBuf, mon: s.mon, backoff: s.cfg.Backoff,
		index: i, uuid: st.uuid, states: st.calls[:], now: now.UnixNano(), timed: slowDue}
	d.Index = int64(i)
	if h, ok := c.handle(i); ok {
		if !st.complete || st.handle != h {
			s.readIdentity(&c, h, st, i)
		}
		if c.err == nil {
			d.Info = st.info
			d.Info.DriverVersion = s.driverVersion
			s.readReadings(&c, h, st, d, slowDue)
		}
	}
	d.UUID = st.uuid
	if c.err != nil {
		*d = hpu.Device{Index: d.Index, UUID: st.uuid, Err: c.err, NICPorts: d.NICPorts[:0]}
		// The next time it can be read, its identity and other readings are read afresh.
		st.complete, st.static, st.slowRead = false, false, false
	}
	return nil
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
	// Without a deadline: the shutdown must happen, whenever the call in flight returns.
	_ = s.lock.acquire(context.Background(), "shutdown")
	defer s.lock.release()
	errs := []error{s.mon.close()}
	if s.lib == nil {
		return errors.Join(errs...)
	}
	if s.events.set != 0 {
		if rc := s.lib.call(symEventSetFree, []uintptr{s.events.set}); rc != Success {
			errs = append(errs, &CallError{Func: symEventSetFree.String(), Code: rc})
		}
	}
	s.events = eventSet{}
	for _, st := range s.devices {
		errs = append(errs, st.sensors.Close())
		st.sensors, st.complete = nil, false
	}
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
