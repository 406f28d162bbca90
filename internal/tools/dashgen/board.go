package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// board is one dashboard: its identity, variables and rows of panels.
type board struct {
	file        string // dashboards/<file>.json and docs/dashboards/<file>.md
	uid         string
	title       string
	description string
	tags        []string
	from        string // start of the default time range, e.g. now-6h
	refresh     string
	vars        []variable
	annotations []cog.Builder[dashboard.AnnotationQuery]
	rows        []row
}

// row is a titled group of panels; a collapsed row holds its panels until it is opened.
type row struct {
	title     string
	collapsed bool
	panels    []panel
}

// uids of the four dashboards, which links and the docs use.
const (
	uidHPU      = "otelcol-gaudi-hpu"
	uidTraining = "otelcol-gaudi-training"
	uidInfra    = "otelcol-gaudi-infrastructure"
	uidAlerts   = "otelcol-gaudi-alerts"
)

// all lists the dashboards in the order of the links and the docs.
func all() []board {
	return []board{hpuBoard(), trainingBoard(), infrastructureBoard(), alertsBoard()}
}

var titles = map[string]string{
	uidHPU:      "HPU Monitoring",
	uidTraining: "Training Performance",
	uidInfra:    "Infrastructure",
	uidAlerts:   "Alerts",
}

const gridWidth = 24

// build turns a board into the SDK's dashboard model. Panels get ids in order and positions from a
// left-to-right flow that wraps at the grid's width; rows start on a new line.
func (b board) build() (dashboard.Dashboard, error) {
	db := dashboard.NewDashboardBuilder(b.title).
		Uid(b.uid).
		Description(b.description).
		Tags(b.tags).
		Refresh(b.refresh).
		Time(b.from, "now").
		Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Editable().
		Links(boardLinks(b.uid))
	for _, v := range b.vars {
		db.WithVariable(v)
	}
	for _, a := range b.annotations {
		db.Annotation(a)
	}
	var (
		errs   []error
		id     uint32
		grid   cursor
		titled = map[string]bool{}
	)
	for _, r := range b.rows {
		grid.newLine()
		id++
		rb := dashboard.NewRowBuilder(r.title).Id(id).Collapsed(r.collapsed).
			GridPos(dashboard.GridPos{X: 0, Y: grid.y, W: gridWidth, H: 1})
		// A collapsed row keeps its panels inside, laid out below the row where Grafana puts them when
		// the row is opened; the next row follows right below it.
		inner := cursor{y: grid.y + 1}
		grid.y++
		if !r.collapsed {
			db.WithRow(rb)
		}
		for _, pn := range r.panels {
			if pn.err != nil {
				errs = append(errs, fmt.Errorf("%s: panel: %w", b.uid, pn.err))
				continue
			}
			p := pn.p
			id++
			p.Id = ptr(id)
			if titled[*p.Title] {
				errs = append(errs, fmt.Errorf("%s: two panels are titled %q", b.uid, *p.Title))
			}
			titled[*p.Title] = true
			if r.collapsed {
				inner.place(p.GridPos)
				rb.WithPanel(built(p))
			} else {
				grid.place(p.GridPos)
				db.WithPanel(built(p))
			}
		}
		if r.collapsed {
			db.WithRow(rb)
		}
	}
	if len(errs) > 0 {
		return dashboard.Dashboard{}, errors.Join(errs...)
	}
	d, err := db.Build()
	if err != nil {
		return d, fmt.Errorf("%s: %w", b.uid, err)
	}
	return d, nil
}

// cursor places panels left to right, wrapping at the grid's width.
type cursor struct{ x, y, lineH uint32 }

func (c *cursor) newLine() { c.y += c.lineH; c.x, c.lineH = 0, 0 }

func (c *cursor) place(g *dashboard.GridPos) {
	if c.x+g.W > gridWidth {
		c.newLine()
	}
	g.X, g.Y = c.x, c.y
	c.x += g.W
	c.lineH = max(c.lineH, g.H)
}

// built wraps a finished panel as a builder, so the SDK's dashboard builder can take it as is.
type built dashboard.Panel

func (p built) Build() (dashboard.Panel, error) { return dashboard.Panel(p), nil }

// boardLinks links every dashboard to the other three, keeping the time range and the variables they share.
func boardLinks(self string) []cog.Builder[dashboard.DashboardLink] {
	var links []cog.Builder[dashboard.DashboardLink]
	for _, uid := range []string{uidHPU, uidTraining, uidInfra, uidAlerts} {
		if uid == self {
			continue
		}
		links = append(links, dashboard.NewDashboardLinkBuilder(titles[uid]).
			Type(dashboard.DashboardLinkTypeLink).
			Url("/d/"+uid).
			Icon("dashboard").
			Tooltip("Open the "+titles[uid]+" dashboard with the same time range and variables").
			IncludeVars(true).
			KeepTime(true).
			AsDropdown(false).
			TargetBlank(false))
	}
	return links
}

// panelLink links a panel to another dashboard, keeping the time range and passing the given variables.
func panelLink(title, uid string, vars ...string) cog.Builder[dashboard.DashboardLink] {
	u := "/d/" + uid + "?${__url_time_range}"
	for _, v := range vars {
		u += "&${" + v + ":queryparam}"
	}
	return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).Url(u).TargetBlank(false)
}

// alertLink opens the Alerts dashboard on one alert rule.
func alertLink(alert string) cog.Builder[dashboard.DashboardLink] {
	u := "/d/" + uidAlerts + "?${__url_time_range}&${host:queryparam}&var-alertname=" + url.QueryEscape(alert)
	return dashboard.NewDashboardLinkBuilder("Alert " + alert).Type(dashboard.DashboardLinkTypeLink).Url(u).TargetBlank(false)
}

// firingAlerts is an annotation with one region per firing alert of the selector.
func firingAlerts(name, selector string) cog.Builder[dashboard.AnnotationQuery] {
	return dashboard.NewAnnotationQueryBuilder().
		Name(name).
		Datasource(promDS).
		Enable(true).
		Hide(false).
		IconColor("red").
		Expr(selector).
		Step("60s").
		TitleFormat("{{alertname}} ({{severity}})").
		TextFormat("{{instance}} HPU {{hpu_index}} {{training_job_id}} {{training_rank}}").
		TagKeys("alertname,severity").
		UseValueForTime(false)
}

// encode is the one JSON form of a dashboard: two-space indent, no HTML escaping (PromQL has < > &),
// a final newline. The dashboards package's tests re-encode the committed files with the same rules.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
