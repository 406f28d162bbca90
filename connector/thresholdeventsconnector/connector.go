package thresholdeventsconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/extension/thresholdbusextension"
	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"
)

// EventName is the stable name of every alert transition record.
const EventName = "threshold.alert.transition"

type eventsConnector struct {
	cfg    *Config
	logger *zap.Logger
	next   consumer.Logs
	// self names the collector; it stands in for an alert without job or instance labels.
	self service

	mu          sync.Mutex
	unsubscribe func()
}

// Start subscribes to the named processor's events on the bus.
func (c *eventsConnector) Start(_ context.Context, host component.Host) error {
	ext, ok := host.GetExtensions()[c.cfg.Bus]
	if !ok {
		return fmt.Errorf("bus: extension %s is not configured in service.extensions", c.cfg.Bus)
	}
	bus, ok := ext.(*thresholdbusextension.Bus)
	if !ok {
		return fmt.Errorf("bus: extension %s is not a threshold_bus extension", c.cfg.Bus)
	}
	c.mu.Lock()
	c.unsubscribe = bus.Subscribe(c.cfg.Processor, c.emit)
	c.mu.Unlock()
	return nil
}

func (c *eventsConnector) Shutdown(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unsubscribe != nil {
		c.unsubscribe()
		c.unsubscribe = nil
	}
	return nil
}

func (*eventsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// ConsumeMetrics ignores the metrics: the connector sits in the metrics pipeline only because the
// collector wires connectors that way; its input is the processor's events.
func (*eventsConnector) ConsumeMetrics(context.Context, pmetric.Metrics) error { return nil }

func (c *eventsConnector) emit(ctx context.Context, events []thresholdprocessor.AlertEvent) {
	ld := toLogs(events, c.cfg.IncludePending, c.self)
	if ld.LogRecordCount() == 0 {
		return
	}
	if err := c.next.ConsumeLogs(ctx, ld); err != nil {
		c.logger.Warn("Sending alert events failed", zap.Error(err), zap.Int("events", ld.LogRecordCount()))
	}
}

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
func toLogs(events []thresholdprocessor.AlertEvent, includePending bool, self service) plog.Logs {
	ld := plog.NewLogs()
	scopes := map[string]plog.ScopeLogs{}
	for _, ev := range events {
		if !includePending && (ev.State == "pending" || ev.State == "inactive") {
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

func fillRecord(lr plog.LogRecord, ev thresholdprocessor.AlertEvent) {
	lr.SetEventName(EventName)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	severity := ev.Labels.Get("severity")
	lr.SetSeverityText(severity)
	lr.SetSeverityNumber(severityNumber(severity))
	lr.Body().SetStr(body(ev))
	attrs := lr.Attributes()
	ev.Labels.Range(func(l labels.Label) { attrs.PutStr(l.Name, l.Value) })
	attrs.PutStr("alert.state", ev.State)
	attrs.PutStr("alert.previous_state", ev.PreviousState)
	ev.Annotations.Range(func(l labels.Label) { attrs.PutStr("alert.annotation."+l.Name, l.Value) })
	if ev.State != "resolved" && ev.State != "inactive" {
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
func body(ev thresholdprocessor.AlertEvent) string {
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
	return "[" + strings.ToUpper(ev.State) + "] " + b
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
