package gaudireceiver

import (
	"fmt"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
)

// newSource builds the configured backend; start is when the receiver starts, the origin of
// the simulator's scenario clock.
func newSource(cfg *Config, start time.Time) (hpu.Source, error) {
	switch cfg.Source {
	case SourceSimulator:
		return simulator.New(cfg.Simulator, start)
	case SourceAuto:
		return nil, fmt.Errorf("source %q found no usable backend: the hlml, hlsmi and sysfs sources are %w", cfg.Source, errSourceNotAvailable)
	default:
		return nil, fmt.Errorf("source %q is %w", cfg.Source, errSourceNotAvailable)
	}
}
