package gaudireceiver

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs"
)

// openSource builds and starts the configured backend. now is the receiver's clock; its reading
// at start is the origin of the simulator's scenario. tel is the receiver's telemetry, which the
// HLML source reports its calls to.
func openSource(ctx context.Context, cfg *Config, now func() time.Time, tel component.TelemetrySettings) (hpu.Source, error) {
	if cfg.Source == SourceAuto {
		return openAuto(ctx, cfg, tel), nil
	}
	src, err := newSource(cfg.Source, cfg, now, tel)
	if err != nil {
		return nil, err
	}
	if err := src.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting source %q: %w", src.Name(), err)
	}
	return src, nil
}

func newSource(kind SourceKind, cfg *Config, now func() time.Time, tel component.TelemetrySettings) (hpu.Source, error) {
	nic := cfg.nicOptions()
	switch kind {
	case SourceSimulator:
		return simulator.New(cfg.Simulator, now(), now, nic)
	case SourceHLML:
		return hlml.New(cfg.HLML, hlml.Settings{
			Logger: tel.Logger, MeterProvider: tel.MeterProvider, MeterName: metadata.ScopeName,
			HostRoot: cfg.Sysfs.Root, CollectionInterval: cfg.CollectionInterval, NIC: nic,
		})
	case SourceHLSMI:
		return hlsmi.New(cfg.HLSMI, hlsmi.Options{
			NICLinks: cfg.Metrics.HpuNicLinkUp.Enabled, NIC: nic, SlowEvery: hpu.SlowEvery(cfg.CollectionInterval),
		})
	case SourceSysfs:
		return sysfs.New(cfg.Sysfs, nic)
	default:
		return nil, fmt.Errorf("unknown source %q", kind)
	}
}

// autoOrder is the order in which `source: auto` tries the backends: HLML is fastest and most
// complete, hl-smi needs a process per scrape, sysfs has the fewest readings.
var autoOrder = []SourceKind{SourceHLML, SourceHLSMI, SourceSysfs}

// openAuto starts the first backend that works on this node. When none does, the receiver
// still starts: every scrape then reports why, and zero devices.
func openAuto(ctx context.Context, cfg *Config, tel component.TelemetrySettings) hpu.Source {
	logger := tel.Logger
	var reasons []error
	for _, kind := range autoOrder {
		if kind == SourceSysfs && !hasAccelDevices(cfg.Sysfs.Root) {
			reasons = append(reasons, fmt.Errorf("sysfs: no accel devices under %s", filepath.Join(cfg.Sysfs.Root, "sys", "class", "accel")))
			continue
		}
		src, err := newSource(kind, cfg, time.Now, tel)
		if err == nil {
			err = src.Start(ctx)
		}
		if err == nil {
			logger.Info("source auto chose a backend", zap.String("source", src.Name()), zap.Errors("skipped", reasons))
			return src
		}
		reasons = append(reasons, fmt.Errorf("%s: %w", kind, err))
	}
	err := fmt.Errorf("source auto found no HPU telemetry backend on this node: %w", errors.Join(reasons...))
	logger.Warn("No HPU telemetry backend; the receiver reports zero devices until the collector is restarted with one", zap.Error(err))
	return noSource{err: err}
}

func hasAccelDevices(root string) bool {
	matches, err := filepath.Glob(filepath.Join(root, "sys", "class", "accel", "accel*"))
	return err == nil && len(matches) > 0
}

// noSource stands in when auto found no backend: each scrape reports the reason.
type noSource struct{ err error }

func (noSource) Name() string                   { return "none" }
func (noSource) Start(context.Context) error    { return nil }
func (noSource) Shutdown(context.Context) error { return nil }
func (n noSource) Read(_ context.Context, _ time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	return dst, n.err
}
