package dashboards

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// Representative values of the variables: one value, several (Grafana formats them as a regex
// alternation) and All (the allValue).
var variableValues = []map[string]string{
	{"host": "gaudi-node-01", "hpu": "3", "job": "job-7f3a", "rank": "0", "severity": "critical", "alertname": "HPUHighTemperature",
		"namespace": "training", "pod": "llama3-8b-worker-0"},
	{"host": "(gaudi-node-01|gaudi-node-02)", "hpu": "(0|3)", "job": "(job-7f3a|job-8b4c)", "rank": "(0|1)", "severity": "(critical|warning)", "alertname": "(HPUHighTemperature|TrainingStalled)",
		"namespace": "(training|research)", "pod": "(llama3-8b-worker-0|vision-dra-0)"},
	{"host": ".*", "hpu": ".*", "job": ".*", "rank": ".*", "severity": ".*", "alertname": ".*", "namespace": ".*", "pod": ".*"},
}

var promParser = parser.NewParser(parser.Options{})

func TestPromQLParses(t *testing.T) {
	n := 0
	for _, d := range load(t) {
		for _, q := range d.Queries() {
			if q.Datasource != "prometheus" {
				continue
			}
			for _, values := range variableValues {
				expr := Expand(q.Expr, values)
				if q.Source == "variable" {
					if expr == "" {
						continue
					}
					if _, err := promParser.ParseMetricSelector(expr); err != nil {
						t.Errorf("%s: variable %s: selector %q: %v", d.File, q.Panel, expr, err)
					}
					continue
				}
				n++
				if _, err := promParser.ParseExpr(expr); err != nil {
					t.Errorf("%s: %s %q %s: %q: %v", d.File, q.Source, q.Panel, q.RefID, expr, err)
					continue
				}
				if names, _ := MetricNames(expr); len(names) == 0 {
					t.Errorf("%s: %s %q %s reads no metric: %q", d.File, q.Source, q.Panel, q.RefID, expr)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no PromQL query found")
	}
}

// Loki's default index labels for OTLP: default_resource_attributes_as_index_labels with dots turned into
// underscores (pkg/loghttp/push/otlp_config.go). Everything else is structured metadata.
var lokiIndexLabels = []string{
	"service_name", "service_namespace", "service_instance_id",
	"deployment_environment", "deployment_environment_name",
	"cloud_region", "cloud_availability_zone",
	"k8s_cluster_name", "k8s_namespace_name", "k8s_pod_name", "k8s_container_name", "container_name",
	"k8s_replicaset_name", "k8s_deployment_name", "k8s_statefulset_name", "k8s_daemonset_name",
	"k8s_cronjob_name", "k8s_job_name",
}

// The structured metadata the LogQL queries may filter on: what the threshold connector puts on its
// records (scope, severity, the alert's labels, alert.* attributes) and what the training contract puts on
// the jobs' records (docs/training-metrics.md), dots turned into underscores as Loki stores them.
var lokiMetadata = []string{
	"scope_name", "severity_text",
	"alertname", "severity", "alert_state", "alert_previous_state", "hpu_index", "hpu_uuid",
	"training_job_id", "training_rank", "host_name", "hpu_module_id",
}

// labelFilter is a label filter stage: | name op "value".
var labelFilter = regexp.MustCompile(`\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=|>=|<=|>|<)\s*"`)

func TestLogQL(t *testing.T) {
	n := 0
	for _, d := range load(t) {
		for _, q := range d.Queries() {
			if q.Datasource != "loki" {
				continue
			}
			n++
			for _, values := range variableValues {
				expr := Expand(q.Expr, values)
				if left := Variables(expr); len(left) > 0 {
					t.Errorf("%s: %q: variables %q are left after expanding: %q", d.File, q.Panel, left, expr)
				}
				selector, rest, err := streamSelector(expr)
				if err != nil {
					t.Errorf("%s: %q: %v in %q", d.File, q.Panel, err, expr)
					continue
				}
				matchers, err := promParser.ParseMetricSelector(selector)
				if err != nil {
					t.Errorf("%s: %q: stream selector %q: %v", d.File, q.Panel, selector, err)
					continue
				}
				nonEmpty := false
				for _, m := range matchers {
					if !slices.Contains(lokiIndexLabels, m.Name) {
						t.Errorf("%s: %q: the stream selector uses %q, which Loki keeps as structured metadata, not as an index label", d.File, q.Panel, m.Name)
					}
					nonEmpty = nonEmpty || !m.Matches("")
				}
				if !nonEmpty {
					t.Errorf("%s: %q: Loki needs a matcher that does not match the empty value in %q", d.File, q.Panel, selector)
				}
				for _, f := range labelFilter.FindAllStringSubmatch(rest, -1) {
					if !slices.Contains(lokiMetadata, f[1]) && !slices.Contains(lokiIndexLabels, f[1]) {
						t.Errorf("%s: %q: filters on %q, which no record has", d.File, q.Panel, f[1])
					}
				}
				if err := balanced(expr); err != nil {
					t.Errorf("%s: %q: %v in %q", d.File, q.Panel, err, expr)
				}
				if strings.Contains(expr, "_over_time(") && !regexp.MustCompile(`\[\d+[smhd]\]`).MatchString(expr) {
					t.Errorf("%s: %q: a range aggregation without a range: %q", d.File, q.Panel, expr)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no LogQL query found")
	}
}

// streamSelector returns the first {...} of a LogQL expression and what follows it.
func streamSelector(expr string) (selector, rest string, err error) {
	start := strings.IndexByte(expr, '{')
	if start < 0 {
		return "", "", errorString("no stream selector")
	}
	inQuote := false
	for i := start; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '}' && !inQuote:
			return expr[start : i+1], expr[i+1:], nil
		}
	}
	return "", "", errorString("unterminated stream selector")
}

// balanced checks brackets outside of strings.
func balanced(expr string) error {
	var stack []byte
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{'}
	inQuote := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return errorString("unbalanced " + string(c))
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inQuote || len(stack) > 0 {
		return errorString("unbalanced brackets or quotes")
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// Every query filters on the variables of its dashboard that apply to its data.
func TestQueriesUseTheVariables(t *testing.T) {
	// HPU metrics without a device: they describe the scrape, not an HPU.
	notPerDevice := []string{"hpu_devices", "hpu_scrape_duration_seconds", "hpu_scrape_errors_total"}
	for _, d := range load(t) {
		uid := *d.Model.Uid
		for _, q := range d.Queries() {
			if q.Source == "variable" {
				continue
			}
			uses := func(vars ...string) {
				for _, v := range vars {
					if !slices.Contains(Variables(q.Expr), v) {
						t.Errorf("%s: %s %q: %q does not filter on $%s", d.File, q.Source, q.Panel, q.Expr, v)
					}
				}
			}
			var names []string
			if q.Datasource == "prometheus" {
				uses("host")
				var err error
				if names, err = MetricNames(Expand(q.Expr, variableValues[0])); err != nil {
					t.Errorf("%s: %q: %v", d.File, q.Panel, err)
				}
			}
			switch uid {
			case "otelcol-gaudi-hpu":
				for _, n := range names {
					if strings.HasPrefix(n, "hpu_") && !slices.Contains(notPerDevice, n) || n == "ALERTS" {
						uses("hpu")
					}
					if strings.HasPrefix(n, "hpu_") && !slices.Contains(notPerDevice, n) {
						uses("job", "namespace", "pod")
					}
				}
			case "otelcol-gaudi-training":
				uses("job")
			case "otelcol-gaudi-alerts":
				if q.Datasource == "loki" || slices.Contains(names, "ALERTS") {
					uses("alertname", "severity")
				}
			}
		}
	}
}
