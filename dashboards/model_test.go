package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The four dashboards and the variables each must define.
var wantBoards = map[string][]string{
	"otelcol-gaudi-hpu":            {"datasource", "host", "hpu", "job", "namespace", "pod"},
	"otelcol-gaudi-training":       {"datasource", "loki_datasource", "host", "job", "rank"},
	"otelcol-gaudi-infrastructure": {"datasource", "host"},
	"otelcol-gaudi-alerts":         {"datasource", "loki_datasource", "host", "severity", "alertname"},
}

func load(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestLoadDecodesStrictly(t *testing.T) {
	ds := load(t)
	var uids []string
	for _, d := range ds {
		uids = append(uids, *d.Model.Uid)
	}
	if len(ds) != len(wantBoards) {
		t.Errorf("dashboards %q, want the %d of wantBoards", uids, len(wantBoards))
	}
	// The strict check must see what the files hold: an unknown field at any level fails Load.
	raw, err := files.ReadFile("hpu-monitoring.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"dashboard", `"refresh": "30s",`, `"refresh": "30s", "refreshh": 1,`},
		{"panel", `"title": "Healthy HPUs",`, `"title": "Healthy HPUs", "titel": "x",`},
		{"options", `"graphMode": "area",`, `"graphMode": "area", "grapMode": "area",`},
		{"target", `"editorMode": "code",`, `"editorMode": "code", "exprr": "up",`},
		{"custom field config", `"lineWidth": 1,`, `"lineWidth": 1, "lineWidht": 1,`},
		{"field config", `"noValue": "0"`, `"noValue": "0", "unitt": "s"`},
		{"type", `"refresh": "30s",`, `"refresh": 30,`},
	} {
		broken := bytes.Replace(raw, []byte(tc.old), []byte(tc.new), 1)
		if bytes.Equal(broken, raw) {
			t.Fatalf("%s: %q is not in hpu-monitoring.json", tc.name, tc.old)
		}
		if _, err := decode(broken); err == nil {
			t.Errorf("an unknown field in a %s decodes without error", tc.name)
		}
	}
}

// Panel options and custom field configs decode into the SDK's type of the panel.
func TestPanelsDecodeIntoTheirTypes(t *testing.T) {
	options := map[string]any{
		"timeseries":     &timeseries.Options{},
		"stat":           &stat.Options{},
		"gauge":          &gauge.Options{},
		"bargauge":       &bargauge.Options{},
		"heatmap":        &heatmap.Options{},
		"state-timeline": &statetimeline.Options{},
		"table":          &table.Options{},
		"logs":           &logs.Options{},
	}
	custom := map[string]any{
		"timeseries":     &timeseries.FieldConfig{},
		"heatmap":        &heatmap.FieldConfig{},
		"state-timeline": &statetimeline.FieldConfig{},
		"table":          &table.FieldConfig{},
	}
	for _, d := range load(t) {
		for _, p := range Panels(d.Model) {
			want, ok := options[p.Type]
			if !ok {
				t.Errorf("%s: panel %q: type %q is not one the tests know", d.File, *p.Title, p.Type)
				continue
			}
			if reflect.TypeOf(p.Options) != reflect.TypeOf(want) {
				t.Errorf("%s: panel %q: options are %T, want %T", d.File, *p.Title, p.Options, want)
			}
			if want, ok := custom[p.Type]; ok && p.FieldConfig != nil && p.FieldConfig.Defaults.Custom != nil &&
				reflect.TypeOf(p.FieldConfig.Defaults.Custom) != reflect.TypeOf(want) {
				t.Errorf("%s: panel %q: custom field config is %T, want %T", d.File, *p.Title, p.FieldConfig.Defaults.Custom, want)
			}
		}
	}
}

// The files are what encoding their model gives: decoding loses nothing and the form is stable.
func TestFilesEncodeStably(t *testing.T) {
	for _, d := range load(t) {
		raw, err := files.ReadFile(d.File)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encode(d.Model)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, raw) {
			t.Errorf("%s: decoding and encoding again changes it:\n%s", d.File, firstDifference(got, raw))
		}
	}
}

// encode is the generator's JSON form: two-space indent, no HTML escaping, final newline.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

func TestIdentityAndLinks(t *testing.T) {
	ds := load(t)
	uids := map[string]string{}
	for _, d := range ds {
		uid := deref(d.Model.Uid)
		if len(uid) < 8 || len(uid) > 40 {
			t.Errorf("%s: uid %q is not 8 to 40 characters", d.File, uid)
		}
		if other, dup := uids[uid]; dup {
			t.Errorf("%s and %s have the same uid %q", other, d.File, uid)
		}
		uids[uid] = d.File
		if deref(d.Model.Title) == "" || deref(d.Model.Description) == "" || len(d.Model.Tags) == 0 ||
			deref(d.Model.Refresh) == "" || d.Model.Time == nil || d.Model.Time.From == "" {
			t.Errorf("%s: title, description, tags, refresh and time range must be set", d.File)
		}
	}
	for uid := range wantBoards {
		if _, ok := uids[uid]; !ok {
			t.Errorf("no dashboard has the uid %s", uid)
		}
	}
	for _, d := range ds {
		linked := map[string]bool{}
		for _, u := range linkURLs(t, d) {
			target, ok := dashboardUID(u)
			if !ok {
				t.Errorf("%s: link %q does not open a dashboard (/d/<uid>)", d.File, u)
				continue
			}
			if _, ok := uids[target]; !ok {
				t.Errorf("%s: link %q points at the unknown uid %q", d.File, u, target)
			}
			linked[target] = true
		}
		for uid := range uids {
			if uid != *d.Model.Uid && !linked[uid] {
				t.Errorf("%s does not link to %s", d.File, uid)
			}
		}
	}
}

// linkURLs returns every link of a dashboard: dashboard links, panel links and field (data) links.
func linkURLs(t *testing.T, d Dashboard) []string {
	var us []string
	for _, l := range d.Model.Links {
		us = append(us, deref(l.Url))
	}
	for _, p := range Panels(d.Model) {
		for _, l := range p.Links {
			us = append(us, deref(l.Url))
		}
		if p.FieldConfig == nil {
			continue
		}
		for _, l := range p.FieldConfig.Defaults.Links {
			us = append(us, deref(l.Url))
		}
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if prop.Id != "links" {
					continue
				}
				raw, _ := json.Marshal(prop.Value)
				var ls []dashboard.DashboardLink
				if err := json.Unmarshal(raw, &ls); err != nil {
					t.Errorf("%s: panel %q: links override: %v", d.File, *p.Title, err)
				}
				for _, l := range ls {
					us = append(us, deref(l.Url))
				}
			}
		}
	}
	return us
}

func dashboardUID(link string) (string, bool) {
	u, err := url.Parse(link)
	if err != nil {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.Path, "/d/")
	if !ok || rest == "" {
		return "", false
	}
	uid, _, _ := strings.Cut(rest, "/")
	return uid, true
}

func TestVariables(t *testing.T) {
	for _, d := range load(t) {
		defined := map[string]dashboard.VariableModel{}
		for _, v := range d.Model.Templating.List {
			defined[v.Name] = v
		}
		for _, name := range wantBoards[*d.Model.Uid] {
			if _, ok := defined[name]; !ok {
				t.Errorf("%s: no variable %s", d.File, name)
			}
		}
		// Every variable used anywhere in the file (queries, legends, links, annotations) is defined; Grafana's
		// own start with __.
		raw, _ := files.ReadFile(d.File)
		for _, name := range Variables(string(raw)) {
			if _, ok := defined[name]; !ok && !strings.HasPrefix(name, "__") {
				t.Errorf("%s: uses the undefined variable $%s", d.File, name)
			}
		}
		for _, v := range d.Model.Templating.List {
			switch v.Type {
			case dashboard.VariableTypeDatasource:
				want := map[string]string{"datasource": "prometheus", "loki_datasource": "loki"}[v.Name]
				if deref(v.Query.String) != want || v.Current == nil || deref(v.Current.Value.String) != want {
					t.Errorf("%s: variable %s must be a %s data source defaulting to the uid %[3]s", d.File, v.Name, want)
				}
			case dashboard.VariableTypeQuery:
				if !deref(v.Multi) || !deref(v.IncludeAll) || deref(v.AllValue) != ".*" {
					t.Errorf("%s: variable %s must be multi-select with All = .*", d.File, v.Name)
				}
				if v.Datasource == nil || deref(v.Datasource.Uid) != "${datasource}" {
					t.Errorf("%s: variable %s does not query ${datasource}", d.File, v.Name)
				}
			default:
				t.Errorf("%s: variable %s has the unexpected type %s", d.File, v.Name, v.Type)
			}
		}
		loki := slices.ContainsFunc(d.Queries(), func(q Query) bool { return q.Datasource == "loki" })
		if _, ok := defined["loki_datasource"]; ok != loki {
			t.Errorf("%s: loki_datasource defined %v, Loki queries %v", d.File, ok, loki)
		}
	}
}

func TestPanels(t *testing.T) {
	for _, d := range load(t) {
		titles, ids := map[string]bool{}, map[uint32]bool{}
		for _, p := range d.Model.Panels {
			if p.RowPanel != nil {
				if ids[p.RowPanel.Id] {
					t.Errorf("%s: id %d twice", d.File, p.RowPanel.Id)
				}
				ids[p.RowPanel.Id] = true
			}
		}
		for _, p := range Panels(d.Model) {
			title := deref(p.Title)
			if title == "" || titles[title] {
				t.Errorf("%s: panel title %q is empty or not unique", d.File, title)
			}
			titles[title] = true
			if p.Id == nil || ids[*p.Id] {
				t.Errorf("%s: panel %q: id missing or not unique", d.File, title)
			} else {
				ids[*p.Id] = true
			}
			if question := namedAlerts.ReplaceAllString(deref(p.Description), ""); len(strings.TrimSpace(question)) < 20 {
				t.Errorf("%s: panel %q has no description of the question it answers", d.File, title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", d.File, title)
			}
			ds := p.Datasource
			want := map[string]string{"prometheus": "${datasource}", "loki": "${loki_datasource}"}
			if ds == nil || want[deref(ds.Type)] == "" || deref(ds.Uid) != want[deref(ds.Type)] {
				t.Errorf("%s: panel %q: data source %s, want the variable of its type", d.File, title, dsString(ds))
			}
			for _, q := range d.Queries() {
				if q.Source == "panel" && q.Panel == title && ds != nil && q.Datasource != deref(ds.Type) {
					t.Errorf("%s: panel %q: a %s query in a %s panel", d.File, title, q.Datasource, deref(ds.Type))
				}
			}
			if p.Type != "logs" && (p.FieldConfig == nil || deref(p.FieldConfig.Defaults.Unit) == "") {
				t.Errorf("%s: panel %q has no unit", d.File, title)
			}
		}
	}
}

func dsString(ds *dashboard.DataSourceRef) string {
	if ds == nil {
		return "none"
	}
	return fmt.Sprintf("{type %q, uid %q}", deref(ds.Type), deref(ds.Uid))
}

type rect struct {
	name       string
	x, y, w, h uint32
}

func (r rect) overlaps(o rect) bool {
	return r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h
}

func TestGridHasNoOverlaps(t *testing.T) {
	for _, d := range load(t) {
		var top []rect
		for _, p := range d.Model.Panels {
			switch {
			case p.Panel != nil:
				top = append(top, panelRect(t, d.File, *p.Panel))
			case p.RowPanel != nil:
				r := p.RowPanel
				if r.GridPos == nil {
					t.Errorf("%s: row %q has no position", d.File, deref(r.Title))
					continue
				}
				top = append(top, rect{"row " + deref(r.Title), r.GridPos.X, r.GridPos.Y, r.GridPos.W, r.GridPos.H})
				// A collapsed row's panels are placed below it when it opens; they must not overlap each other.
				var inner []rect
				for _, c := range r.Panels {
					cr := panelRect(t, d.File, c)
					if cr.y <= r.GridPos.Y {
						t.Errorf("%s: %s is not below its row %q", d.File, cr.name, deref(r.Title))
					}
					inner = append(inner, cr)
				}
				checkOverlaps(t, d.File, inner)
			}
		}
		checkOverlaps(t, d.File, top)
	}
}

func panelRect(t *testing.T, file string, p dashboard.Panel) rect {
	g := p.GridPos
	if g == nil {
		t.Errorf("%s: panel %q has no position", file, deref(p.Title))
		return rect{}
	}
	r := rect{"panel " + deref(p.Title), g.X, g.Y, g.W, g.H}
	if r.w == 0 || r.h == 0 || r.x+r.w > 24 {
		t.Errorf("%s: %s has the position %+v, outside the 24-column grid", file, r.name, *g)
	}
	return r
}

func checkOverlaps(t *testing.T, file string, rs []rect) {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[i].overlaps(rs[j]) {
				t.Errorf("%s: %s %+v overlaps %s %+v", file, rs[i].name, rs[i], rs[j].name, rs[j])
			}
		}
	}
}

// The HPU and Training dashboards mark firing alerts on their graphs.
func TestAlertAnnotations(t *testing.T) {
	for _, d := range load(t) {
		uid := *d.Model.Uid
		if uid != "otelcol-gaudi-hpu" && uid != "otelcol-gaudi-training" {
			continue
		}
		found := false
		for _, q := range d.Queries() {
			if q.Source == "annotation" && q.Datasource == "prometheus" &&
				strings.HasPrefix(q.Expr, "ALERTS{") && strings.Contains(q.Expr, `alertstate="firing"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s has no annotation of firing ALERTS", d.File)
		}
		for _, a := range d.Model.Annotations.List {
			if !a.Enable {
				t.Errorf("%s: annotation %q is disabled", d.File, a.Name)
			}
		}
	}
}
