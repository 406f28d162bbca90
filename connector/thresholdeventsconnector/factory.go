package thresholdeventsconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector/internal/metadata"
)

// NewFactory returns the factory of the threshold_events connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(metadata.Type, createDefaultConfig,
		connector.WithMetricsToLogs(createMetricsToLogs, metadata.MetricsToLogsStability))
}

func createMetricsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Metrics, error) {
	return &eventsConnector{cfg: cfg.(*Config), logger: set.Logger, next: next, self: collectorService(set.Resource)}, nil
}
