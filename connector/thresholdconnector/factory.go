package thresholdconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
)

// NewFactory returns the factory of the threshold connector. The collector creates one connector
// instance per pair of pipeline signals (metrics → metrics, metrics → logs); the instances of one ID
// share one rule engine through the factory's table of cores, the collector's sharedcomponent pattern.
func NewFactory() connector.Factory {
	return newFactory(time.Now)
}

// newFactory is NewFactory on a given wall clock.
func newFactory(clock func() time.Time) connector.Factory {
	cores := newCores(clock)
	return connector.NewFactory(metadata.Type, createDefaultConfig,
		connector.WithMetricsToMetrics(func(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
			c, err := cores.get(set, cfg.(*Config))
			if err != nil {
				return nil, err
			}
			c.metrics = next
			return &metricsConnector{core: c, next: next}, nil
		}, metadata.MetricsToMetricsStability),
		connector.WithMetricsToLogs(func(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Metrics, error) {
			c, err := cores.get(set, cfg.(*Config))
			if err != nil {
				return nil, err
			}
			c.logs = next
			return &logsConnector{core: c}, nil
		}, metadata.MetricsToLogsStability))
}
