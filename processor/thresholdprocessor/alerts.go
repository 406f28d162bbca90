package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Attributes added by alert_state_attributes.
const (
	attrAlertState = "alert.state"
	attrAlertNames = "alert.names"
	alertsMetric   = "ALERTS"
)

// otelIdentity is where an ALERTS label set goes in OTLP so that the prometheus exporter turns it back
// into the same labels: job and instance into the resource (service.*), otel_scope_* into the scope.
type otelIdentity struct {
	resource, scope string
}

// appendAlerts adds the ALERTS series of the evaluations to md as a gauge named ALERTS, value 1, at each
// evaluation's timestamp. A series that ended gets a point flagged "no recorded value", which the
// exporter and remote write turn into Prometheus' staleness.
func appendAlerts(md pmetric.Metrics, evals []evaluation, tc TranslationConfig) {
	gauges := map[otelIdentity]pmetric.Gauge{}
	for _, ev := range evals {
		for _, s := range ev.alerts {
			res, scope, attrs := splitIdentity(s.labels, tc)
			id := otelIdentity{resource: res.String(), scope: scope.String()}
			g, ok := gauges[id]
			if !ok {
				g = newAlertsGauge(md, res, scope)
				gauges[id] = g
			}
			dp := g.DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(ev.ts))
			attrs.Range(func(l labels.Label) { dp.Attributes().PutStr(l.Name, l.Value) })
			if s.stale {
				dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
				continue
			}
			dp.SetDoubleValue(1)
		}
	}
}

// serviceLabels are the labels resource_to_telemetry_conversion gives the service.* attributes that
// newAlertsGauge rebuilds from job and instance.
var serviceLabels = map[string]bool{"service_name": true, "service_namespace": true, "service_instance_id": true}

// splitIdentity separates the labels the exporter derives from the resource and scope from the rest.
func splitIdentity(lset labels.Labels, tc TranslationConfig) (res, scope, attrs labels.Labels) {
	rb, sb, ab := labels.NewScratchBuilder(0), labels.NewScratchBuilder(0), labels.NewScratchBuilder(0)
	lset.Range(func(l labels.Label) {
		switch {
		case l.Name == labels.MetricName:
		case l.Name == labelJob || l.Name == labelInstance:
			rb.Add(l.Name, l.Value)
		case tc.convertsResource() && serviceLabels[l.Name]:
			// The exporter derives these again from the rebuilt resource; as attributes too they would
			// be duplicate labels, and the exporter would refuse the ALERTS series.
		case !tc.WithoutScopeInfo && strings.HasPrefix(l.Name, scopeLabelPrefix):
			sb.Add(l.Name, l.Value)
		default:
			ab.Add(l.Name, l.Value)
		}
	})
	return rb.Labels(), sb.Labels(), ab.Labels()
}

func newAlertsGauge(md pmetric.Metrics, res, scope labels.Labels) pmetric.Gauge {
	rm := md.ResourceMetrics().AppendEmpty()
	ra := rm.Resource().Attributes()
	if job := res.Get(labelJob); job != "" {
		// The exporter's job is service.namespace/service.name; split on the first slash to invert it.
		if ns, name, ok := strings.Cut(job, "/"); ok {
			ra.PutStr(attrServiceNamespace, ns)
			ra.PutStr(attrServiceName, name)
		} else {
			ra.PutStr(attrServiceName, job)
		}
	}
	if inst := res.Get(labelInstance); inst != "" {
		ra.PutStr(attrServiceInstanceID, inst)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	scope.Range(func(l labels.Label) {
		switch l.Name {
		case labelScopeName:
			sm.Scope().SetName(l.Value)
		case labelScopeVersion:
			sm.Scope().SetVersion(l.Value)
		case labelScopeSchemaURL:
			sm.SetSchemaUrl(l.Value)
		default:
			sm.Scope().Attributes().PutStr(strings.TrimPrefix(l.Name, scopeLabelPrefix), l.Value)
		}
	})
	m := sm.Metrics().AppendEmpty()
	m.SetName(alertsMetric)
	return m.SetEmptyGauge()
}

// annotate marks the data points that pending or firing alerts are about: those of a metric the rule
// selects whose labels include every label of the alert that came from the series. Callers hold p.mu.
func (p *thresholdProcessor) annotate(md pmetric.Metrics) {
	idx := p.eval.activeIndex()
	if len(idx) == 0 {
		return
	}
	forEachScope(md, func(sc seriesContext, ms pmetric.MetricSlice) {
		for k := 0; k < ms.Len(); k++ {
			p.annotateMetric(ms.At(k), sc, idx)
		}
	})
}

func (p *thresholdProcessor) annotateMetric(m pmetric.Metric, sc seriesContext, idx map[string][]activeAlert) {
	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
	default:
		return
	}
	name, err := p.namer.metricName(m)
	if err != nil {
		return
	}
	alerts := idx[name]
	if len(alerts) == 0 {
		return
	}
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		lset, err := p.namer.seriesLabels(name, dp.Attributes(), sc)
		if err != nil {
			continue
		}
		state := ""
		var names []string
		for _, a := range alerts {
			if !containsLabels(lset, a.match) {
				continue
			}
			if state != stateFiring {
				state = a.state
			}
			names = append(names, a.name)
		}
		if state == "" {
			continue
		}
		slices.Sort(names)
		names = slices.Compact(names)
		dp.Attributes().PutStr(attrAlertState, state)
		s := dp.Attributes().PutEmptySlice(attrAlertNames)
		for _, n := range names {
			s.AppendEmpty().SetStr(n)
		}
	}
}

func containsLabels(lset, sub labels.Labels) bool {
	ok := true
	sub.Range(func(l labels.Label) {
		if ok && lset.Get(l.Name) != l.Value {
			ok = false
		}
	})
	return ok
}
