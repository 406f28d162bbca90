package thresholdconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector"

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"
)

// EventName is the stable name of every alert transition record.
const EventName = "threshold.alert.transition"

// service is the identity an event's resource carries: the prometheus exporter's job and instance.
type service struct{ job, instance string }

// collectorService is the collector's own identity in job/instance form.
func collectorService(res pcommon.Resource) service {
	get := func(k string) string {
		if v, ok := res.Attributes().Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	s := service{job: get("service.name"), instance: get("service.instance.id")}
	if ns := get("service.namespace"); ns != "" && s.job != "" {
		s.job = ns + "/" + s.job
	}
	return s
}

// toLogs makes one log record per transition, grouped under a resource rebuilt from the alert's job and
// instance labels the way the prometheus exporter derived them (service.namespace/service.name,
// service.instance.id), so that the events land next to the node's other telemetry. An alert on series
// without them (the gaudi receiver's) gets self's, the collector that evaluated it, so that a backend such
// as Loki files the event under the collector rather than under no service at all.
func toLogs(events []ruleengine.Transition, includePending bool, self service) plog.Logs {
	ld := plog.NewLogs()
	scopes := map[string]plog.ScopeLogs{}
	for _, ev := range events {
		if !includePending && (ev.State == ruleengine.StatePending || ev.State == ruleengine.StateInactive) {
			continue
		}
		job, instance := ev.Labels.Get("job"), ev.Labels.Get("instance")
		if job == "" {
			job = self.job
		}
		if instance == "" {
			instance = self.instance
		}
		key := job + "\xff" + instance
		sl, ok := scopes[key]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			putService(rl.Resource().Attributes(), job, instance)
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(metadata.ScopeName)
			scopes[key] = sl
		}
		fillRecord(sl.LogRecords().AppendEmpty(), ev)
	}
	return ld
}

func putService(attrs pcommon.Map, job, instance string) {
	if job != "" {
		if ns, name, ok := strings.Cut(job, "/"); ok {
			attrs.PutStr("service.namespace", ns)
			attrs.PutStr("service.name", name)
		} else {
			attrs.PutStr("service.name", job)
		}
	}
	if instance != "" {
		attrs.PutStr("service.instance.id", instance)
	}
}

func fillRecord(lr plog.LogRecord, ev ruleengine.Transition) {
	lr.SetEventName(EventName)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	severity := ev.Labels.Get("severity")
	lr.SetSeverityText(severity)
	lr.SetSeverityNumber(severityNumber(severity))
	lr.Body().SetStr(body(ev))
	attrs := lr.Attributes()
	for _, l := range ev.Labels {
		attrs.PutStr(l.Name, l.Value)
	}
	attrs.PutStr("alert.state", string(ev.State))
	attrs.PutStr("alert.previous_state", string(ev.PreviousState))
	for _, l := range ev.Annotations {
		attrs.PutStr("alert.annotation."+l.Name, l.Value)
	}
	if ev.State != ruleengine.StateResolved && ev.State != ruleengine.StateInactive {
		attrs.PutDouble("alert.value", ev.Value)
	}
	putTime(attrs, "alert.active_at", ev.ActiveAt)
	putTime(attrs, "alert.fired_at", ev.FiredAt)
	putTime(attrs, "alert.resolved_at", ev.ResolvedAt)
	attrs.PutStr("alert.rule.group", ev.RuleGroup)
	attrs.PutStr("alert.rule.file", ev.RuleFile)
}

func putTime(attrs pcommon.Map, key string, t time.Time) {
	if !t.IsZero() {
		attrs.PutStr(key, t.UTC().Format(time.RFC3339Nano))
	}
}

// body is "summary: description", either alone, or "alertname state" when the rule has neither.
func body(ev ruleengine.Transition) string {
	summary, description := ev.Annotations.Get("summary"), ev.Annotations.Get("description")
	var b string
	switch {
	case summary != "" && description != "":
		b = summary + ": " + description
	case summary != "":
		b = summary
	case description != "":
		b = description
	default:
		b = ev.Labels.Get("alertname")
	}
	return "[" + strings.ToUpper(string(ev.State)) + "] " + b
}

// severityNumber maps the customary Prometheus severity label values onto OTel's severity numbers.
func severityNumber(severity string) plog.SeverityNumber {
	switch strings.ToLower(severity) {
	case "critical", "page", "emergency", "fatal":
		return plog.SeverityNumberFatal
	case "error", "major":
		return plog.SeverityNumberError
	case "warning", "warn", "minor":
		return plog.SeverityNumberWarn
	case "info", "informational", "notice", "none":
		return plog.SeverityNumberInfo
	case "debug":
		return plog.SeverityNumberDebug
	}
	return plog.SeverityNumberUnspecified
}
