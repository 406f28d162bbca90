package gaudireceiver

import (
	"errors"
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
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
	// NICCounters chooses which NIC port counters are read.
	NICCounters NICCountersConfig `mapstructure:"nic_counters"`
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

// NIC port sets whose counters are read.
const (
	NICPortsExternal = "external"
	NICPortsAll      = "all"
)

// NICCountersConfig chooses the NIC port counters read: those of the external (scale-out) ports
// by default, as every device has 21 internal ones; and the raw counters that hpu.nic.stat
// reports when it is enabled.
type NICCountersConfig struct {
	// Ports is "external" or "all".
	Ports string `mapstructure:"ports"`
	// Stats lists the raw counters hpu.nic.stat reports, by name; empty: all of them.
	Stats []string `mapstructure:"stats"`
	_     struct{}
}

// Validate implements confmap.Validator.
func (c *NICCountersConfig) Validate() error {
	var errs []error
	if c.Ports != NICPortsExternal && c.Ports != NICPortsAll {
		errs = append(errs, fmt.Errorf("ports must be %q or %q, got %q", NICPortsExternal, NICPortsAll, c.Ports))
	}
	for _, name := range c.Stats {
		if !hpu.PrintableName(name) {
			errs = append(errs, fmt.Errorf("stats: %q is not a counter name (printable ASCII, at most 64 bytes)", name))
		}
	}
	return errors.Join(errs...)
}

// nicOptions are what the sources read of the NIC ports, from the enabled metrics.
func (c *Config) nicOptions() hpu.NICOptions {
	m := c.Metrics
	return hpu.NICOptions{
		Counters:  m.HpuNicIo.Enabled || m.HpuNicPackets.Enabled || m.HpuNicErrors.Enabled || m.HpuNicDropped.Enabled,
		Stats:     m.HpuNicStat.Enabled,
		StatNames: c.NICCounters.Stats,
		AllPorts:  c.NICCounters.Ports == NICPortsAll,
	}
}
