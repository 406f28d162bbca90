package gaudireceiver

import (
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs"
)

// SourceKind selects the telemetry backend.
type SourceKind string

const (
	// SourceAuto picks the best backend available on the node.
	SourceAuto SourceKind = "auto"
	// SourceHLML reads libhlml.so, loaded at run time.
	SourceHLML SourceKind = "hlml"
	// SourceHLSMI runs the hl-smi tool.
	SourceHLSMI SourceKind = "hlsmi"
	// SourceSysfs reads the habanalabs driver's sysfs and hwmon files.
	SourceSysfs SourceKind = "sysfs"
	// SourceSimulator is a deterministic simulated node, for demos and tests.
	SourceSimulator SourceKind = "simulator"
)

var sourceKinds = []SourceKind{SourceAuto, SourceHLML, SourceHLSMI, SourceSysfs, SourceSimulator}

// Config is the gaudi receiver's configuration.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	metadata.MetricsBuilderConfig  `mapstructure:",squash"`

	Source    SourceKind       `mapstructure:"source"`
	HLML      hlml.Config      `mapstructure:"hlml"`
	HLSMI     hlsmi.Config     `mapstructure:"hlsmi"`
	Sysfs     sysfs.Config     `mapstructure:"sysfs"`
	Simulator simulator.Config `mapstructure:"simulator"`
	Sanity    SanityConfig     `mapstructure:"sanity"`
	// HostName is host.name on the resource of every metric and device event; empty: the OS hostname.
	HostName string `mapstructure:"host_name"`
	// HealthExtension names an hpu_health extension told of every scrape; nil turns reporting off.
	HealthExtension *component.ID `mapstructure:"health_extension"`
	_               struct{}
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the receiver's own keys; the nested configs (controller, simulator, sanity)
// are validated by the collector on their own, each error under its key.
func (c *Config) Validate() error {
	if !slices.Contains(sourceKinds, c.Source) {
		return fmt.Errorf("source must be one of %v, got %q", sourceKinds, c.Source)
	}
	return nil
}
