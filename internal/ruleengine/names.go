package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/resourcetotelemetry"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"

	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Resource attributes the prometheus exporter turns into job and instance (semconv service.*).
const (
	attrServiceName       = "service.name"
	attrServiceNamespace  = "service.namespace"
	attrServiceInstanceID = "service.instance.id"
	attrHostName          = "host.name"
	labelJob              = "job"
	labelInstance         = "instance"
	scopeLabelPrefix      = "otel_scope_"
	labelScopeName        = "otel_scope_name"
	labelScopeVersion     = "otel_scope_version"
	labelScopeSchemaURL   = "otel_scope_schema_url"
	maxCachedLabelNames   = 4096
	maxCachedMetricNames  = 4096
)

var errDuplicateLabel = errors.New("two attributes translate to the same label name")

// namer turns OTel metric identities into the Prometheus series labels the contrib prometheus exporter
// (v0.165.1) exposes for them, with the same otlptranslator settings: suffixes added, UTF-8 escaped to
// underscores, multiple underscores preserved (exporter collector.go configureMetricNamer/configureLabelNamer),
// labels from data point attributes, then scope attributes and scope info, then job and instance from the
// resource (getMetricMetadata).
type namer struct {
	metricNamer otlptranslator.MetricNamer
	labelNamer  otlptranslator.LabelNamer
	cfg         TranslationConfig
	// labelCache memoises attribute key → label name; keys are low-cardinality, the cap guards the rest.
	labelCache map[string]string
	// constantLabelsExporter is the exporter's resource_constant_labels wrapper around captured; nil
	// unless resource_constant_labels is set.
	constantLabelsExporter exporter.Metrics
	captured               *captureExporter
	// constantKeys memoises resource attribute key → whether it becomes a label; the exporter's
	// selection depends on the key alone.
	constantKeys map[string]bool
	// metricCache memoises metric identity → name, for the same reason.
	metricCache map[otlptranslator.Metric]string
	builder     labels.ScratchBuilder
}

func newNamer(cfg TranslationConfig) *namer {
	n := &namer{
		metricNamer: otlptranslator.MetricNamer{WithMetricSuffixes: true, UTF8Allowed: false},
		labelNamer:  otlptranslator.LabelNamer{UTF8Allowed: false, PreserveMultipleUnderscores: true},
		cfg:         cfg,
		labelCache:  make(map[string]string),
		metricCache: make(map[otlptranslator.Metric]string),
		builder:     labels.NewScratchBuilder(16),
	}
	if !cfg.ResourceConstantLabels.IsEmpty() {
		n.captured = &captureExporter{}
		n.constantKeys = make(map[string]bool)
		n.constantLabelsExporter = resourcetotelemetry.WrapMetricsExporter(cfg.ResourceConstantLabels, n.captured)
	}
	return n
}

// metricName is the exporter's name for m.
func (n *namer) metricName(m pmetric.Metric) (string, error) {
	tm := prometheusremotewrite.TranslatorMetricFromOtelMetric(m)
	if name, ok := n.metricCache[tm]; ok {
		return name, nil
	}
	name, err := n.metricNamer.Build(tm)
	if err != nil {
		return "", fmt.Errorf("translating metric name %q: %w", m.Name(), err)
	}
	if len(n.metricCache) < maxCachedMetricNames {
		n.metricCache[tm] = name
	}
	return name, nil
}

func (n *namer) labelName(key string) (string, error) {
	if l, ok := n.labelCache[key]; ok {
		return l, nil
	}
	l, err := n.labelNamer.Build(key)
	if err != nil {
		return "", fmt.Errorf("translating attribute %q: %w", key, err)
	}
	if len(n.labelCache) < maxCachedLabelNames {
		n.labelCache[key] = l
	}
	return l, nil
}

// seriesContext is what every data point of one scope of one resource shares.
// forEachScope calls f with the series context and the metrics of every scope in md.
func forEachScope(md pmetric.Metrics, f func(sc seriesContext, ms pmetric.MetricSlice)) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			f(seriesContext{resource: rm.Resource().Attributes(), scope: sm.Scope(), schema: sm.SchemaUrl()}, sm.Metrics())
		}
	}
}

// isConstantLabel reports whether the exporter puts the resource attribute key on every data point: all
// keys with resource_to_telemetry_conversion, those resource_constant_labels selects, or none. The
// selection is the exporter's own resourcetotelemetry wrapper's, run once per key on one point.
func (n *namer) isConstantLabel(key string) bool {
	switch {
	case n.cfg.ResourceToTelemetryConversion:
		return true
	case n.constantLabelsExporter == nil:
		return false
	}
	if selected, ok := n.constantKeys[key]; ok {
		return selected
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(key, "v")
	rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	selected := false
	if err := n.constantLabelsExporter.ConsumeMetrics(context.Background(), md); err == nil { // the capture never fails
		_, selected = n.captured.dp.Attributes().Get(key)
	}
	if len(n.constantKeys) < maxCachedLabelNames {
		n.constantKeys[key] = selected
	}
	return selected
}

// captureExporter is the exporter behind the resourcetotelemetry wrapper: it keeps the one data point.
type captureExporter struct {
	component.StartFunc
	component.ShutdownFunc
	dp pmetric.NumberDataPoint
}

func (*captureExporter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *captureExporter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c.dp = md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0)
	return nil
}

type seriesContext struct {
	resource pcommon.Map
	scope    pcommon.InstrumentationScope
	schema   string
	// id is the hash of the above, set where the series identity cache is used.
	id hash128
}

// seriesLabels builds the sorted label set of one data point. Empty values are left out, as Prometheus
// treats an empty label as an absent one.
func (n *namer) seriesLabels(name string, attrs pcommon.Map, sc seriesContext) (labels.Labels, error) {
	b := &n.builder
	b.Reset()
	b.Add(labels.MetricName, name)
	var errs []error
	add := func(key string, v pcommon.Value) {
		l, err := n.labelName(key)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if s := v.AsString(); s != "" {
			b.Add(l, s)
		}
	}
	for k, v := range attrs.All() {
		if _, ok := sc.resource.Get(k); ok && n.isConstantLabel(k) {
			continue
		}
		add(k, v)
	}
	// resourcetotelemetry copies the selected resource attributes onto the data point, overwriting.
	for k, v := range sc.resource.All() {
		if n.isConstantLabel(k) {
			add(k, v)
		}
	}
	if !n.cfg.WithoutScopeInfo {
		for k, v := range sc.scope.Attributes().All() {
			switch k {
			case "name", "version", "schema_url":
				continue
			}
			add(scopeLabelPrefix+k, v)
		}
		addStr(b, labelScopeName, sc.scope.Name())
		addStr(b, labelScopeVersion, sc.scope.Version())
		addStr(b, labelScopeSchemaURL, sc.schema)
	}
	if job, ok := jobFromResource(sc.resource); ok {
		addStr(b, labelJob, job)
	}
	if inst, ok := sc.resource.Get(attrServiceInstanceID); ok {
		addStr(b, labelInstance, inst.AsString())
	}
	if len(errs) > 0 {
		return labels.EmptyLabels(), errors.Join(errs...)
	}
	b.Sort()
	lset := b.Labels()
	// The exporter rejects a metric whose label names collide; so do we.
	if dup, ok := duplicateLabel(lset); ok {
		return labels.EmptyLabels(), fmt.Errorf("%w: %q", errDuplicateLabel, dup)
	}
	return lset, nil
}

func addStr(b *labels.ScratchBuilder, name, value string) {
	if value != "" {
		b.Add(name, value)
	}
}

func duplicateLabel(lset labels.Labels) (string, bool) {
	prev, dup := "", ""
	lset.Range(func(l labels.Label) {
		if l.Name == prev && dup == "" {
			dup = l.Name
		}
		prev = l.Name
	})
	return dup, dup != ""
}

// jobFromResource is the exporter's job label: service.namespace/service.name, or service.name.
func jobFromResource(res pcommon.Map) (string, bool) {
	svc, ok := res.Get(attrServiceName)
	if !ok {
		return "", false
	}
	if ns, ok := res.Get(attrServiceNamespace); ok {
		return ns.AsString() + "/" + svc.AsString(), true
	}
	return svc.AsString(), true
}
