package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Attributes added by alert_state_attributes.
const (
	attrAlertState  = "alert.state"
	attrAlertNames  = "alert.names"
	alertsMetric    = "ALERTS"
	alertStateLabel = "alertstate"
)

// otelIdentity is where an ALERTS label set goes in OTLP so that the prometheus exporter turns it back
// into the same labels: job and instance into the resource (service.*), otel_scope_* into the scope.
type otelIdentity struct {
	resource, scope string
}

// AlertsMetrics returns the ALERTS series of evals as a gauge named ALERTS, value 1, at each
// evaluation's time, with each series' job and instance in the resource (service.*) and otel_scope_*
// labels in the scope, so that the prometheus exporter gives it the labels Prometheus would. A series
// that ended gets a point flagged "no recorded value", which the exporter and remote write turn into
// Prometheus' staleness. It is empty unless alerts_metric is set.
func (e *Engine) AlertsMetrics(evals []Evaluation) pmetric.Metrics {
	md := pmetric.NewMetrics()
	if !e.cfg.AlertsMetric {
		return md
	}
	tc := e.cfg.Translation
	gauges := map[otelIdentity]pmetric.Gauge{}
	for _, ev := range evals {
		for _, s := range ev.Alerts {
			res, scope, attrs := splitIdentity(s.Labels, tc)
			id := otelIdentity{resource: res.String(), scope: scope.String()}
			g, ok := gauges[id]
			if !ok {
				g = newAlertsGauge(md, res, scope)
				gauges[id] = g
			}
			dp := g.DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
			// The ALERTS series' labels: the alert's and alertstate, in label order.
			for _, l := range withAlertState(attrs, s.State) {
				dp.Attributes().PutStr(l.Name, l.Value)
			}
			if s.Stale {
				dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
				continue
			}
			dp.SetDoubleValue(1)
		}
	}
	return md
}

// withAlertState inserts alertstate into the sorted labels.
func withAlertState(ls Labels, state AlertState) Labels {
	out := make(Labels, 0, len(ls)+1)
	added := false
	for _, l := range ls {
		if !added && l.Name > alertStateLabel {
			out = append(out, Label{alertStateLabel, string(state)})
			added = true
		}
		out = append(out, l)
	}
	if !added {
		out = append(out, Label{alertStateLabel, string(state)})
	}
	return out
}

// serviceLabels are the labels resource_to_telemetry_conversion gives the service.* attributes that
// newAlertsGauge rebuilds from job and instance.
var serviceLabels = map[string]bool{"service_name": true, "service_namespace": true, "service_instance_id": true}

// splitIdentity separates the labels the exporter derives from the resource and scope from the rest.
func splitIdentity(lset Labels, tc TranslationConfig) (res, scope, attrs Labels) {
	for _, l := range lset {
		switch {
		case l.Name == labels.MetricName:
		case l.Name == labelJob || l.Name == labelInstance:
			res = append(res, l)
		case tc.convertsResource() && serviceLabels[l.Name]:
			// The exporter derives these again from the rebuilt resource; as attributes too they would
			// be duplicate labels, and the exporter would refuse the ALERTS series.
		case !tc.WithoutScopeInfo && strings.HasPrefix(l.Name, scopeLabelPrefix):
			scope = append(scope, l)
		default:
			attrs = append(attrs, l)
		}
	}
	return res, scope, attrs
}

func newAlertsGauge(md pmetric.Metrics, res, scope Labels) pmetric.Gauge {
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
	for _, l := range scope {
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
	}
	m := sm.Metrics().AppendEmpty()
	m.SetName(alertsMetric)
	return m.SetEmptyGauge()
}

// annotate marks the data points that pending or firing alerts are about: those of a metric the rule
// selects whose labels include every label of the alert that came from the series. Callers hold e.mu.
func (e *Engine) annotate(md pmetric.Metrics) {
	idx := e.eval.activeIndex()
	if len(idx) == 0 {
		return
	}
	forEachScope(md, func(sc seriesContext, ms pmetric.MetricSlice) {
		for k := 0; k < ms.Len(); k++ {
			e.annotateMetric(ms.At(k), sc, idx)
		}
	})
}

func (e *Engine) annotateMetric(m pmetric.Metric, sc seriesContext, idx map[string][]activeAlert) {
	dps, ok := numberPoints(m)
	if !ok {
		return
	}
	name, err := e.namer.metricName(m)
	if err != nil {
		return
	}
	alerts := idx[name]
	if len(alerts) == 0 {
		return
	}
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		lset, err := e.namer.seriesLabels(name, dp.Attributes(), sc)
		if err != nil {
			continue
		}
		var state AlertState
		var names []string
		for _, a := range alerts {
			if !containsLabels(lset, a.match) {
				continue
			}
			if state != StateFiring {
				state = a.state
			}
			names = append(names, a.name)
		}
		if state == "" {
			continue
		}
		slices.Sort(names)
		names = slices.Compact(names)
		dp.Attributes().PutStr(attrAlertState, string(state))
		s := dp.Attributes().PutEmptySlice(attrAlertNames)
		for _, n := range names {
			s.AppendEmpty().SetStr(n)
		}
	}
}

// numberPoints are the points of a gauge or a sum; false for the other types.
func numberPoints(m pmetric.Metric) (pmetric.NumberDataPointSlice, bool) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints(), true
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints(), true
	}
	return pmetric.NumberDataPointSlice{}, false
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
