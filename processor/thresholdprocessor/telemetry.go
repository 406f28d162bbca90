package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor/internal/metadata"
)

// telemetry is the processor's own metrics, so that what the limits drop is visible without logs.
type telemetry struct {
	dropped     metric.Int64Counter
	evaluations metric.Int64Counter
	skipped     metric.Int64Counter
	duration    metric.Float64Histogram
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var t telemetry
	var err error
	if t.dropped, err = m.Int64Counter("otelcol_processor_threshold_samples_dropped",
		metric.WithDescription("Samples not stored for rule evaluation, by reason."), metric.WithUnit("{sample}")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	if t.evaluations, err = m.Int64Counter("otelcol_processor_threshold_evaluations",
		metric.WithDescription("Rule group evaluations run."), metric.WithUnit("{evaluation}")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	if t.skipped, err = m.Int64Counter("otelcol_processor_threshold_evaluations_skipped",
		metric.WithDescription("Rule group evaluations skipped because time jumped further than max_catch_up_evaluations."),
		metric.WithUnit("{evaluation}")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	if t.duration, err = m.Float64Histogram("otelcol_processor_threshold_evaluation_duration",
		metric.WithDescription("Wall time of the evaluations run for one batch or tick."), metric.WithUnit("s")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	return &t, nil
}

func (t *telemetry) recordDropped(ctx context.Context, reason dropReason, n int64) {
	t.dropped.Add(ctx, n, metric.WithAttributes(attribute.String("reason", string(reason))))
}

func (t *telemetry) recordEvaluations(ctx context.Context, n int, d time.Duration) {
	t.evaluations.Add(ctx, int64(n))
	t.duration.Record(ctx, d.Seconds())
}

func (t *telemetry) recordSkipped(ctx context.Context, n int64) {
	if n > 0 {
		t.skipped.Add(ctx, n)
	}
}
