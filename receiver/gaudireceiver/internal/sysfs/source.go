package sysfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hwmon"
)

// Source implements hpu.Source by reading the habanalabs driver's sysfs and hwmon files.
type Source struct {
	root     string
	classDir string
	nic      hpu.NICOptions
	// sensors are the host's hwmon labels (hwmon.LoadConfig), read at Start; confErr why they
	// could not be, reported with the first Read.
	sensors *hwmon.Config
	confErr error

	// mu serializes reads; it guards the fields below.
	mu  sync.Mutex
	buf [attrBufSize]byte
	// known maps the accel number of each HPU read before to its UUID, to name a device whose
	// directory can no longer be read.
	known map[int64]string
}

var _ hpu.Source = (*Source)(nil)

// New returns a source that reads the sysfs under cfg.Root, and the NIC port counters nic asks for.
func New(cfg Config, nic hpu.NICOptions) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sysfs config: %w", err)
	}
	return &Source{
		root:     cfg.Root,
		classDir: filepath.Join(cfg.Root, "sys", "class", "accel"),
		nic:      nic,
		sensors:  &hwmon.Config{},
		known:    make(map[int64]string),
	}, nil
}

// Name implements hpu.Source.
func (*Source) Name() string { return "sysfs" }

// Start implements hpu.Source: it checks that the accel class exists, so that a node without
// the driver is reported once, clearly, before the first scrape.
func (s *Source) Start(context.Context) error {
	if _, err := os.Stat(s.classDir); err != nil {
		return fmt.Errorf("no accel devices (is the habanalabs driver loaded?): %w", err)
	}
	if conf, err := hwmon.LoadConfig(s.root); err != nil {
		s.confErr = fmt.Errorf("temperatures are read without the sensor labels: %w", err)
	} else {
		s.sensors = conf
	}
	return nil
}

// Shutdown implements hpu.Source.
func (*Source) Shutdown(context.Context) error { return nil }

// Read implements hpu.Source. Besides failures that leave no device, the error reports
// attributes whose content could not be parsed and accel directories that could not be read
// before they were known to be HPUs; the devices are returned all the same.
func (s *Source) Read(ctx context.Context, _ time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	indices, err := s.list()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	var errs []error
	if s.confErr != nil {
		errs = append(errs, s.confErr)
		s.confErr = nil
	}
	for _, n := range indices {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("stopped before accel%d: %w", n, err))
			break
		}
		dst = append(dst, hpu.Device{Index: n, Info: hpu.Info{ModuleID: hpu.UnknownModuleID}})
		d := &dst[len(dst)-1]
		ours, err := s.readDevice(n, d, &errs)
		uuid, seen := s.known[n]
		switch {
		case err != nil && seen:
			*d = hpu.Device{Index: n, UUID: uuid, Err: err}
		case err != nil:
			dst = dst[:len(dst)-1]
			errs = append(errs, err)
		case !ours:
			dst = dst[:len(dst)-1]
		case d.UUID == "":
			d.UUID = uuid
		}
	}
	devs := dst[start:]
	for _, d := range devs {
		if d.UUID != "" {
			s.known[d.Index] = d.UUID
		}
	}
	if len(devs) == 0 && len(errs) == 0 {
		return dst, fmt.Errorf("no Habana devices in %s", s.classDir)
	}
	return dst, errors.Join(errs...)
}

// list returns the N of every accelN in the accel class, in order. Other entries (the
// accel_controlD nodes of older drivers) are skipped.
func (s *Source) list() ([]int64, error) {
	entries, err := os.ReadDir(s.classDir)
	if err != nil {
		return nil, fmt.Errorf("listing accel devices: %w", err)
	}
	var indices []int64
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), "accel")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(num, 10, 64); err == nil && n >= 0 {
			indices = append(indices, n)
		}
	}
	slices.Sort(indices)
	return indices, nil
}
