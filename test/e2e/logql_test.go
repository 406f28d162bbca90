package e2e

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Loki cannot run here (no package, no Docker engine), so the dashboards' LogQL is run against the
// records the collector pushed to the fake Loki, mapped into Loki streams the way Loki 3's OTLP
// ingestion does (the reference's section "Loki 3 native OTLP"): the default index labels come from
// resource attributes, everything else is structured metadata, names have every character outside
// [a-zA-Z0-9_] replaced by '_'. The subset of LogQL evaluated is what the dashboards use: a stream
// selector followed by label filters (`| name op "value"`).

// lokiIndexAttributes are Loki's default_resource_attributes_as_index_labels.
var lokiIndexAttributes = map[string]bool{
	"service.name": true, "service.namespace": true, "service.instance.id": true,
	"deployment.environment": true, "deployment.environment.name": true,
	"cloud.region": true, "cloud.availability_zone": true,
	"k8s.cluster.name": true, "k8s.namespace.name": true, "k8s.pod.name": true, "k8s.container.name": true,
	"container.name": true, "k8s.replicaset.name": true, "k8s.deployment.name": true,
	"k8s.statefulset.name": true, "k8s.daemonset.name": true, "k8s.cronjob.name": true, "k8s.job.name": true,
}

var lokiNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_]`)

func lokiName(attr string) string { return lokiNameUnsafe.ReplaceAllString(attr, "_") }

// lokiEntry is one log record as Loki stores it: index labels and structured metadata.
type lokiEntry struct {
	stream, metadata map[string]string
}

// lokiEntries maps pushed OTLP logs into Loki entries.
func lokiEntries(ld plog.Logs) []lokiEntry {
	var entries []lokiEntry
	for _, rl := range ld.ResourceLogs().All() {
		stream, resourceMeta := map[string]string{}, map[string]string{}
		rl.Resource().Attributes().Range(func(k string, v pcommon.Value) bool {
			if lokiIndexAttributes[k] {
				stream[lokiName(k)] = v.AsString()
			} else {
				resourceMeta[lokiName(k)] = v.AsString()
			}
			return true
		})
		if _, ok := stream["service_name"]; !ok {
			stream["service_name"] = "unknown_service" // Loki's fallback when no attribute names the service
		}
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				meta := map[string]string{}
				for k, v := range resourceMeta {
					meta[k] = v
				}
				if n := sl.Scope().Name(); n != "" {
					meta["scope_name"] = n
				}
				sl.Scope().Attributes().Range(func(k string, v pcommon.Value) bool {
					meta[lokiName(k)] = v.AsString()
					return true
				})
				lr.Attributes().Range(func(k string, v pcommon.Value) bool {
					meta[lokiName(k)] = v.AsString()
					return true
				})
				if s := lr.SeverityText(); s != "" {
					meta["severity_text"] = s
				}
				meta["severity_number"] = fmt.Sprint(int32(lr.SeverityNumber()))
				entries = append(entries, lokiEntry{stream: stream, metadata: meta})
			}
		}
	}
	return entries
}

// logSelectorRE finds a log query (stream selector and label filters) inside a LogQL expression, also
// inside a metric query such as count_over_time({...} | a="b" [1m]).
var (
	logSelectorRE = regexp.MustCompile(`\{[^}]*\}(?:\s*\|\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*")*`)
	labelFilterRE = regexp.MustCompile(`\|\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")`)
)

// logQuery is the log part of a LogQL expression.
type logQuery struct {
	stream  []*labels.Matcher
	filters []*labels.Matcher
}

// parseLogQuery extracts and parses the one log query in expr (with Grafana's variables expanded). The
// stream selector parses with Prometheus' selector parser, as LogQL shares its syntax; a label filter
// is a matcher on the entry's labels and structured metadata. Anything beyond that subset is an error,
// so that a dashboard using more of LogQL makes this test say so instead of passing unchecked.
func parseLogQuery(expr string) (logQuery, error) {
	found := logSelectorRE.FindAllString(expr, -1)
	if len(found) != 1 {
		return logQuery{}, fmt.Errorf("LogQL %q: want exactly one log query (stream selector with label filters), found %d", expr, len(found))
	}
	sel := found[0]
	end := strings.Index(sel, "}") + 1
	stream, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel[:end])
	if err != nil {
		return logQuery{}, fmt.Errorf("LogQL %q: stream selector: %w", expr, err)
	}
	q := logQuery{stream: stream}
	for _, m := range labelFilterRE.FindAllStringSubmatch(sel[end:], -1) {
		matchers, err := parser.NewParser(parser.Options{}).ParseMetricSelector(fmt.Sprintf("{%s%s%s}", m[1], m[2], m[3]))
		if err != nil {
			return logQuery{}, fmt.Errorf("LogQL %q: label filter %s%s%s: %w", expr, m[1], m[2], m[3], err)
		}
		q.filters = append(q.filters, matchers...)
	}
	// Whatever follows the log query inside its function call must be a range, and nothing of the
	// pipeline may have gone unparsed.
	rest := strings.TrimSpace(expr[strings.Index(expr, sel)+len(sel):])
	if rest != "" && !strings.HasPrefix(rest, "[") {
		return logQuery{}, fmt.Errorf("LogQL %q: unsupported pipeline after the label filters: %q", expr, rest)
	}
	return q, nil
}

// matches reports whether entry is selected by the query: every stream matcher on the index labels,
// every filter on the index labels and structured metadata (missing ones are empty, as in Loki).
func (q logQuery) matches(e lokiEntry) bool {
	for _, m := range q.stream {
		if !m.Matches(e.stream[m.Name]) {
			return false
		}
	}
	for _, m := range q.filters {
		v, ok := e.metadata[m.Name]
		if !ok {
			v = e.stream[m.Name]
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
}
