package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"context"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

// The processor adds attributes to device data points: it mutates the batch.
var processorCapabilities = consumer.Capabilities{MutatesData: true}

// NewFactory returns the factory of the hpu_job processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithMetrics(createMetricsProcessor, metadata.MetricsStability))
}

func createMetricsProcessor(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p, err := newHPUJobProcessor(cfg.(*Config), set.TelemetrySettings, time.Now, os.Hostname)
	if err != nil {
		return nil, err
	}
	return newMetricsProcessor(ctx, set, cfg, next, p)
}

func newMetricsProcessor(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics, p *hpuJobProcessor) (processor.Metrics, error) {
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics,
		processorhelper.WithCapabilities(processorCapabilities),
		processorhelper.WithStart(p.start),
		processorhelper.WithShutdown(p.shutdown))
}
