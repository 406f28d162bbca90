package dashboards

import (
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	values := map[string]string{"host": "node-1", "hpu": "(0|3)", "job": ".*"}
	for _, tc := range []struct{ in, want string }{
		{`up{instance=~"$host"}`, `up{instance=~"node-1"}`},
		{`x{a=~"${hpu}", b=~"${job:regex}"}`, `x{a=~"(0|3)", b=~".*"}`},
		{`x{a=~"[[host]]"}`, `x{a=~"node-1"}`},
		{`rate(x[$__rate_interval])`, `rate(x[1m])`},
		{`increase(x[$__range]) / $__range_s`, `increase(x[1h]) / 3600`},
		{`count_over_time({a="b"} [$__interval])`, `count_over_time({a="b"} [1m])`},
		// Unknown variables stay, so that a test can find them; $hostname is not $host.
		{`x{a="$unknown", b="$hostname"}`, `x{a="$unknown", b="$hostname"}`},
		{`/d/x?${__url_time_range}&var-h=${__data.fields.instance}`, `/d/x?${__url_time_range}&var-h=${__data.fields.instance}`},
		// Regex anchors are not variables.
		{`x{a=~"foo$"}`, `x{a=~"foo$"}`},
	} {
		if got := Expand(tc.in, values); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Expand("[$__rate_interval]", map[string]string{"__rate_interval": "5m"}); got != "[5m]" {
		t.Errorf("values do not override the built-in defaults: %q", got)
	}
}

func TestVariableNames(t *testing.T) {
	got := Variables(`x{a=~"$host", b=~"${hpu:regex}", c=~"[[job]]"}[$__rate_interval] $host ${__data.fields.instance}`)
	want := []string{"host", "hpu", "job", "__rate_interval", "__data.fields.instance"}
	if !slices.Equal(got, want) {
		t.Errorf("Variables = %q, want %q", got, want)
	}
}

func TestMetricNames(t *testing.T) {
	got, err := MetricNames(`sum(rate(b_total{x="1"}[5m])) / on (i) group_left () a or {__name__="c"} unless vector(1)`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b_total", "c"}; !slices.Equal(got, want) {
		t.Errorf("MetricNames = %q, want %q", got, want)
	}
	if _, err := MetricNames(`rate(x[$__rate_interval])`); err == nil {
		t.Error("MetricNames parsed an expression with a Grafana variable left in it")
	}
}

func TestLabelValues(t *testing.T) {
	for _, tc := range []struct{ in, sel, label string }{
		{`label_values(hpu_info{instance=~"$host"}, hpu_index)`, `hpu_info{instance=~"$host"}`, "hpu_index"},
		{`label_values(up{job=~"a,b"}, instance)`, `up{job=~"a,b"}`, "instance"},
		{`label_values(instance)`, "", "instance"},
		{`query_result(up)`, `query_result(up)`, ""},
	} {
		sel, label := labelValues(tc.in)
		if sel != tc.sel || label != tc.label {
			t.Errorf("labelValues(%q) = %q, %q; want %q, %q", tc.in, sel, label, tc.sel, tc.label)
		}
	}
}

func TestQueries(t *testing.T) {
	for _, d := range load(t) {
		targets := 0
		for _, p := range Panels(d.Model) {
			targets += len(p.Targets)
		}
		var panels, annotations, variables int
		for _, q := range d.Queries() {
			if q.Dashboard != *d.Model.Uid || q.Panel == "" || q.Expr == "" && q.Source != "variable" {
				t.Errorf("%s: incomplete query %+v", d.File, q)
			}
			if q.Datasource != "prometheus" && q.Datasource != "loki" {
				t.Errorf("%s: %s %q: data source %q", d.File, q.Source, q.Panel, q.Datasource)
			}
			switch q.Source {
			case "panel":
				panels++
				if q.RefID == "" {
					t.Errorf("%s: panel %q: a target without refId", d.File, q.Panel)
				}
			case "annotation":
				annotations++
			case "variable":
				variables++
				if q.Label == "" {
					t.Errorf("%s: variable %q: no label in %q", d.File, q.Panel, q.Expr)
				}
			default:
				t.Errorf("%s: source %q", d.File, q.Source)
			}
		}
		if panels != targets {
			t.Errorf("%s: %d panel queries for %d targets", d.File, panels, targets)
		}
		if annotations != len(d.Model.Annotations.List) {
			t.Errorf("%s: %d annotation queries for %d annotations", d.File, annotations, len(d.Model.Annotations.List))
		}
		if variables == 0 {
			t.Errorf("%s: no variable queries", d.File)
		}
	}
}
