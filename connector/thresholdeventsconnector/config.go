// Package thresholdeventsconnector provides the threshold_events connector (metrics → logs): it turns the
// alert transitions of the threshold processor it names into OTLP log records in a logs pipeline.
package thresholdeventsconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// Config names the processor whose events are turned into logs and the bus that carries them.
type Config struct {
	// Processor is the threshold processor instance, e.g. `threshold` or `threshold/node`.
	Processor component.ID `mapstructure:"processor"`
	// Bus is the threshold_bus extension the processor publishes on (its `events` setting).
	Bus component.ID `mapstructure:"bus"`
	// IncludePending also emits an event when an alert becomes pending, and when a pending alert's
	// condition clears (state inactive). Prometheus sends neither to Alertmanager.
	IncludePending bool `mapstructure:"include_pending"`
	_              struct{}
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{Bus: component.MustNewID("threshold_bus")}
}

// Validate requires the processor to be named.
func (cfg *Config) Validate() error {
	if cfg.Processor.Type().String() == "" {
		return errors.New("processor: the threshold processor whose events to emit is required")
	}
	return nil
}
