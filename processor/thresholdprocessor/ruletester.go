package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor/internal/metadata"
)

// RuleTester runs a threshold processor for rule unit tests (cmd/ruletest). Data enter through the
// processor's own ConsumeMetrics; time starts at Unix 0, as in promtool, and advances with the data and
// with AdvanceTo instead of the wall clock.
type RuleTester struct {
	proc processor.Metrics
	p    *thresholdProcessor
}

// TestAlert is an alert as promtool compares it: labels (alertname included) and rendered annotations.
type TestAlert struct {
	Labels      labels.Labels
	Annotations labels.Labels
}

// NewRuleTester builds and starts a processor with cfg, sending its output to next.
func NewRuleTester(ctx context.Context, cfg *Config, next consumer.Metrics) (*RuleTester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set := processor.Settings{
		ID: component.NewID(metadata.Type),
		// Rule tests report through their own output; the processor's logs and metrics go nowhere.
		TelemetrySettings: component.TelemetrySettings{
			Logger:         zap.NewNop(),
			TracerProvider: nooptrace.NewTracerProvider(),
			MeterProvider:  noopmetric.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
	p, err := newThresholdProcessor(cfg, set.ID, set.TelemetrySettings, next)
	if err != nil {
		return nil, err
	}
	p.zeroTimeValid = true
	proc, err := newMetricsProcessor(ctx, set, cfg, next, p)
	if err != nil {
		return nil, err
	}
	if err := proc.Start(ctx, ruleTestHost{}); err != nil {
		return nil, errors.Join(err, proc.Shutdown(ctx))
	}
	p.mu.Lock()
	p.eval.startAt(time.Unix(0, 0))
	p.mu.Unlock()
	return &RuleTester{proc: proc, p: p}, nil
}

// ruleTestHost runs the processor without extensions: rule tests keep no state and publish no events.
type ruleTestHost struct{}

func (ruleTestHost) GetExtensions() map[component.ID]component.Component { return nil }

// ConsumeMetrics is the processor's ConsumeMetrics.
func (rt *RuleTester) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return rt.proc.ConsumeMetrics(ctx, md)
}

// AdvanceTo runs every evaluation due at or before t and sends the resulting ALERTS downstream.
func (rt *RuleTester) AdvanceTo(ctx context.Context, t time.Time) error {
	rt.p.mu.Lock()
	evals := rt.p.evaluateTo(ctx, t)
	md := pmetric.NewMetrics()
	if rt.p.cfg.AlertsMetric {
		appendAlerts(md, evals, rt.p.cfg.Translation)
	}
	rt.p.mu.Unlock()
	if md.DataPointCount() == 0 {
		return nil
	}
	if err := rt.p.next.ConsumeMetrics(ctx, md); err != nil {
		return fmt.Errorf("sending ALERTS: %w", err)
	}
	return nil
}

// FiringAlerts lists the firing alerts of the alerting rules named alertname.
func (rt *RuleTester) FiringAlerts(alertname string) []TestAlert {
	rt.p.mu.Lock()
	defer rt.p.mu.Unlock()
	var out []TestAlert
	for _, a := range rt.p.eval.firingAlerts(alertname) {
		out = append(out, TestAlert{Labels: a.Labels, Annotations: a.Annotations})
	}
	return out
}

// HasAlertingRule reports whether some rule file defines an alerting rule named alertname.
func (rt *RuleTester) HasAlertingRule(alertname string) bool {
	rt.p.mu.Lock()
	defer rt.p.mu.Unlock()
	for _, g := range rt.p.eval.groups {
		for _, r := range g.alerting {
			if r.Name() == alertname {
				return true
			}
		}
	}
	return false
}

// Query runs an instant PromQL query over the processor's store at t.
func (rt *RuleTester) Query(ctx context.Context, expr string, t time.Time) (promql.Vector, error) {
	return rt.p.query(ctx, expr, t)
}

// Close shuts the processor down.
func (rt *RuleTester) Close(ctx context.Context) error {
	return rt.proc.Shutdown(ctx)
}
