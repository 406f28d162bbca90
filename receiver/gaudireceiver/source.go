package gaudireceiver

import (
	"fmt"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
)

// newSource builds the configured backend; now is the receiver's clock, and its reading at
// start the origin of the simulator's scenario.
func newSource(cfg *Config, now func() time.Time) (hpu.Source, error) {
	switch cfg.Source {
	case SourceSimulator:
		return simulator.New(cfg.Simulator, now(), now)
	case SourceAuto:
		return nil, fmt.Errorf("source %q found no usable backend: the hlml, hlsmi and sysfs sources are %w", cfg.Source, errSourceNotAvailable)
	default:
		return nil, fmt.Errorf("source %q is %w", cfg.Source, errSourceNotAvailable)
	}
}
