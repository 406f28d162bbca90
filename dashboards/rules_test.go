package dashboards

import (
	"context"
	"log/slog"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
)

// alertRule is an alert of configs/prometheus/rules and the metrics its expression reads.
type alertRule struct {
	name, file string
	metrics    []string
	// dashboard is the rule's dashboard annotation: a Grafana path with template actions in it.
	dashboard   string
	description string
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	paths, err := filepath.Glob("../configs/prometheus/rules/*.rules.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no rule files in ../configs/prometheus/rules (%v)", err)
	}
	var rules []alertRule
	for _, path := range paths {
		groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", path, errs)
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				metrics, err := MetricNames(r.Expr)
				if err != nil {
					t.Fatalf("%s: %s: %v", path, r.Alert, err)
				}
				rules = append(rules, alertRule{name: r.Alert, file: filepath.Base(path), metrics: metrics,
					dashboard: r.Annotations["dashboard"], description: r.Annotations["description"]})
			}
		}
	}
	return rules
}

// panelMetrics maps "file: panel title" to the metric names its queries read.
func panelMetrics(t *testing.T) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, d := range load(t) {
		for _, q := range d.Queries() {
			if q.Source != "panel" || q.Datasource != "prometheus" {
				continue
			}
			names, err := MetricNames(Expand(q.Expr, variableValues[0]))
			if err != nil {
				t.Fatalf("%s: %q: %v", d.File, q.Panel, err)
			}
			key := d.File + ": " + q.Panel
			for _, n := range names {
				if !slices.Contains(m[key], n) {
					m[key] = append(m[key], n)
				}
			}
		}
	}
	return m
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Every alert rule has a panel whose queries read all the metrics of the rule's expression, so an operator
// paged by it finds the data behind it.
func TestEveryAlertRuleHasAPanel(t *testing.T) {
	rules := alertRules(t)
	if len(rules) < 11 {
		t.Errorf("%d alert rules, want the 11 of configs/prometheus/rules", len(rules))
	}
	panels := panelMetrics(t)
	for _, r := range rules {
		var found []string
		for p, metrics := range panels {
			if containsAll(metrics, r.metrics) {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			t.Errorf("alert %s (%s, metrics %q): no panel reads all its metrics", r.name, r.file, r.metrics)
		}
	}
}

// namedAlerts is what the generator appends to a panel's description.
var namedAlerts = regexp.MustCompile(`Alert rules shown here: ([A-Za-z0-9_, ]+)\.`)

// The alert rules a panel names exist, the panel reads their metrics, and every rule is named by a panel:
// the docs' alert-to-panel table is built from these names.
func TestPanelsNameTheirAlertRules(t *testing.T) {
	rules := map[string]alertRule{}
	for _, r := range alertRules(t) {
		rules[r.name] = r
	}
	panels := panelMetrics(t)
	named := map[string]bool{}
	for _, d := range load(t) {
		for _, p := range Panels(d.Model) {
			m := namedAlerts.FindStringSubmatch(deref(p.Description))
			if m == nil {
				continue
			}
			for _, name := range strings.Split(m[1], ", ") {
				named[name] = true
				r, ok := rules[name]
				if !ok {
					t.Errorf("%s: panel %q names the alert rule %q, which configs/prometheus/rules does not have", d.File, *p.Title, name)
					continue
				}
				if have := panels[d.File+": "+*p.Title]; !containsAll(have, r.metrics) {
					t.Errorf("%s: panel %q names %s but reads %q, not all of %q", d.File, *p.Title, name, have, r.metrics)
				}
			}
		}
	}
	for name := range rules {
		if !named[name] {
			t.Errorf("no panel names the alert rule %s", name)
		}
	}
}

// templateAction is a Go template action of a rule annotation ({{ ... }}).
var templateAction = regexp.MustCompile(`\{\{[^}]*\}\}`)

// Every alert rule's dashboard annotation opens an existing dashboard that has a panel reading the rule's
// metrics, and sets only variables that dashboard defines; the promtool unit tests check the expanded
// links (configs/prometheus/rules/*.test.yaml).
func TestAlertRulesLinkToTheirDashboard(t *testing.T) {
	boards := map[string]Dashboard{}
	for _, d := range load(t) {
		boards[deref(d.Model.Uid)] = d
	}
	panels := panelMetrics(t)
	for _, r := range alertRules(t) {
		if r.dashboard == "" {
			t.Errorf("alert %s (%s) has no dashboard annotation", r.name, r.file)
			continue
		}
		u, err := url.Parse(templateAction.ReplaceAllString(r.dashboard, ""))
		if err != nil {
			t.Errorf("alert %s: dashboard %q: %v", r.name, r.dashboard, err)
			continue
		}
		uid, ok := strings.CutPrefix(u.Path, "/d/")
		d, found := boards[uid]
		if !ok || !found {
			t.Errorf("alert %s: dashboard %q does not open one of the dashboards (/d/<uid>)", r.name, r.dashboard)
			continue
		}
		defined := map[string]bool{}
		for _, v := range d.Model.Templating.List {
			defined[v.Name] = true
		}
		for _, m := range regexp.MustCompile(`var-([a-z_]+)=`).FindAllStringSubmatch(r.dashboard, -1) {
			if !defined[m[1]] {
				t.Errorf("alert %s: dashboard %q sets the variable %s, which %s does not define", r.name, r.dashboard, m[1], d.File)
			}
		}
		var reads bool
		for key, metrics := range panels {
			reads = reads || (strings.HasPrefix(key, d.File+": ") && containsAll(metrics, r.metrics))
		}
		if !reads {
			t.Errorf("alert %s: its dashboard %s has no panel reading %q", r.name, d.File, r.metrics)
		}
	}
}

// expandAnnotation expands a rule annotation as Prometheus' rule manager does for an alert with these labels.
func expandAnnotation(t *testing.T, rule, text string, lbls map[string]string) string {
	t.Helper()
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	data := template.AlertTemplateData(lbls, nil, "", promql.Sample{F: 42})
	out, err := template.NewTemplateExpander(context.Background(), defs+text, rule, data, 0, nil, nil, nil).Expand()
	if err != nil {
		t.Fatalf("alert %s: expanding %q: %v", rule, text, err)
	}
	return out
}

// Every HPU alert names who holds the device, pod or Slurm job, when hpu_job put it on the series, and
// links to the HPU dashboard with that pod selected; on an HPU nobody holds it reads without them.
func TestHPUAlertsNameWhoHoldsTheDevice(t *testing.T) {
	device := map[string]string{"instance": "gaudi-node-01", "hpu_index": "3", "hpu_uuid": "u3"}
	held := map[string]string{"k8s_namespace_name": "training", "k8s_pod_name": "llama-0", "k8s_container_name": "trainer",
		"slurm_job_id": "4242", "slurm_job_user": "alice"}
	var n int
	for _, r := range alertRules(t) {
		if r.file != "hpu.rules.yaml" {
			continue
		}
		n++
		withHolder := maps.Clone(device)
		maps.Copy(withHolder, held)
		desc := expandAnnotation(t, r.name, r.description, withHolder)
		for _, want := range []string{"pod training/llama-0, container trainer", "Slurm job 4242 of alice"} {
			if !strings.Contains(desc, want) {
				t.Errorf("alert %s: description %q does not name %q", r.name, desc, want)
			}
		}
		if link := expandAnnotation(t, r.name, r.dashboard, withHolder); !strings.Contains(link, "&var-namespace=training&var-pod=llama-0") {
			t.Errorf("alert %s: dashboard link %q does not select the pod", r.name, link)
		}
		if desc := expandAnnotation(t, r.name, r.description, device); strings.Contains(desc, "pod ") || strings.Contains(desc, "Slurm") {
			t.Errorf("alert %s: on an HPU nobody holds the description still names a holder: %q", r.name, desc)
		}
	}
	if n < 10 {
		t.Errorf("%d alert rules in hpu.rules.yaml, want at least 10", n)
	}
}
