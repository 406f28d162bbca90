// Package thresholdconnector provides the threshold connector: it evaluates Prometheus rule files over
// the metrics it receives, with Prometheus' own rule, PromQL and TSDB-head packages, passes the metrics on
// with the ALERTS series added, and turns alert transitions into log records. One connector ID links
// both outputs to one evaluation of the rules.
package thresholdconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"
)

// Config is the rule engine's configuration plus what the connector adds around it.
type Config struct {
	ruleengine.Config `mapstructure:",squash"`

	// Storage names a storage extension (e.g. file_storage) that keeps pending and firing progress
	// across restarts. Empty disables persistence.
	Storage *component.ID `mapstructure:"storage"`
	// IncludePending also emits a log record when an alert becomes pending, and when a pending alert's
	// condition clears (state inactive). Prometheus sends neither to Alertmanager.
	IncludePending bool `mapstructure:"include_pending"`
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{Config: ruleengine.DefaultConfig()}
}

// Validate checks every setting against its bounds and parses the rule files, so that `otelcol
// validate` reports bad rules; the engine then uses that parse.
func (cfg *Config) Validate() error {
	return cfg.Check()
}
