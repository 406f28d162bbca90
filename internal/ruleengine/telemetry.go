package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// telemetry is the engine's own metrics, so that what the limits drop is visible without logs. The names
// are those of the threshold connector, the engine's collector component.
type telemetry struct {
	dropped     metric.Int64Counter
	evaluations metric.Int64Counter
	skipped     metric.Int64Counter
	duration    metric.Float64Histogram
	// dropAttrs caches the attribute option of each reason and sender label (both bounded).
	dropAttrs map[[2]string]metric.AddOption
}

func newTelemetry(m metric.Meter) (*telemetry, error) {
	t := telemetry{dropAttrs: map[[2]string]metric.AddOption{}}
	var err error
	if t.dropped, err = m.Int64Counter("otelcol_connector_threshold_samples_dropped",
		metric.WithDescription("Samples not stored for rule evaluation, by reason and sender."), metric.WithUnit("{sample}")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	if t.evaluations, err = m.Int64Counter("otelcol_connector_threshold_evaluations",
		metric.WithDescription("Rule group evaluations run."), metric.WithUnit("{evaluation}")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	if t.skipped, err = m.Int64Counter("otelcol_connector_threshold_evaluations_skipped",
		metric.WithDescription("Rule group evaluations skipped because time jumped further than max_catch_up_evaluations."),
		metric.WithUnit("{evaluation}")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	if t.duration, err = m.Float64Histogram("otelcol_connector_threshold_evaluation_duration",
		metric.WithDescription("Wall time of the evaluations run for one batch or tick."), metric.WithUnit("s")); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	return &t, nil
}

func (t *telemetry) recordDropped(ctx context.Context, reason dropReason, sender string, n int64) {
	k := [2]string{string(reason), sender}
	opt, ok := t.dropAttrs[k]
	if !ok {
		opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", k[0]), attribute.String("sender", sender)))
		t.dropAttrs[k] = opt
	}
	t.dropped.Add(ctx, n, opt)
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
