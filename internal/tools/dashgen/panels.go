package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// spec is what every panel declares, whatever its type: the helpers below turn it into the SDK's builder
// calls, so that units, thresholds, descriptions and data sources are set the same way everywhere.
type spec struct {
	title string
	// desc is the question the panel answers; the alerts are appended to it.
	desc    string
	unit    string
	w, h    uint32
	min     *float64
	max     *float64
	dec     *float64
	th      *dashboard.ThresholdsConfigBuilder
	maps    []dashboard.ValueMapping
	noValue string
	// alerts are the alert rules (configs/prometheus/rules) that this panel explains: named in the
	// description and the docs, and linked to the Alerts dashboard.
	alerts    []string
	links     []cog.Builder[dashboard.DashboardLink]
	overrides []override
	xforms    []dashboard.DataTransformerConfig
	queries   []query
}

// override is a field override: the fields whose display name matches the regular expression get the
// properties. Grafana anchors the expression at both ends unless it is written /like this/.
type override struct {
	regex string
	props []dashboard.DynamicConfigValue
}

// panel is a built panel and what the docs need beside it.
type panel struct {
	p        dashboard.Panel
	question string
	alerts   []string
	err      error
}

// panelBuilder is the part of the API that every SDK panel builder (timeseries, stat, table, ...) shares.
type panelBuilder[B any] interface {
	cog.Builder[dashboard.Panel]
	Title(string) B
	Description(string) B
	Datasource(common.DataSourceRef) B
	Height(uint32) B
	Span(uint32) B
	WithTarget(cog.Builder[variants.Dataquery]) B
	Unit(string) B
	Min(float64) B
	Max(float64) B
	Decimals(float64) B
	Thresholds(cog.Builder[dashboard.ThresholdsConfig]) B
	Mappings([]dashboard.ValueMapping) B
	NoValue(string) B
	Links([]cog.Builder[dashboard.DashboardLink]) B
	OverrideByRegexp(string, []dashboard.DynamicConfigValue) B
	WithTransformation(dashboard.DataTransformerConfig) B
}

// finish applies the spec to a panel builder and builds it. Every panel goes through here.
func finish[B panelBuilder[B]](b B, s spec) panel {
	desc := s.desc
	if len(s.alerts) > 0 {
		desc += " Alert rules shown here: " + strings.Join(s.alerts, ", ") + "."
		for _, a := range s.alerts {
			s.links = append(s.links, alertLink(a))
		}
	}
	b.Title(s.title).Description(desc).Height(s.h).Span(s.w).Unit(s.unit)
	ds := promDS
	for i, q := range s.queries {
		if q.loki {
			ds = lokiDS
		}
		b.WithTarget(q.target(refID(i)))
	}
	b.Datasource(ds)
	if s.min != nil {
		b.Min(*s.min)
	}
	if s.max != nil {
		b.Max(*s.max)
	}
	if s.dec != nil {
		b.Decimals(*s.dec)
	}
	if s.th == nil {
		s.th = thresholds("green")
	}
	b.Thresholds(s.th)
	if s.maps != nil {
		b.Mappings(s.maps)
	}
	if s.noValue != "" {
		b.NoValue(s.noValue)
	}
	if len(s.links) > 0 {
		b.Links(s.links)
	}
	for _, o := range s.overrides {
		props := make([]dashboard.DynamicConfigValue, len(o.props))
		for i, p := range o.props {
			props[i] = dashboard.DynamicConfigValue{Id: p.Id, Value: plain(p.Value)}
		}
		b.OverrideByRegexp(o.regex, props)
	}
	for _, x := range s.xforms {
		b.WithTransformation(x)
	}
	p, err := b.Build()
	if err == nil && (s.title == "" || s.desc == "" || len(s.queries) == 0) {
		err = fmt.Errorf("panel %q: a title, a description and queries are required", s.title)
	}
	return panel{p: p, question: s.desc, alerts: s.alerts, err: err}
}

// plain is v as JSON decodes it into an interface: an override's value is untyped in the SDK's model, so
// this is what decoding the file gives back, and the file must encode it the same way (map keys sorted).
func plain(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

func refID(i int) string { return string(rune('A' + i)) }

func ptr[T any](v T) *T { return &v }

// size sets a spec's width and height when it has none.
func (s spec) size(w, h uint32) spec {
	if s.w == 0 {
		s.w = w
	}
	if s.h == 0 {
		s.h = h
	}
	return s
}

// timeSeries is a line graph; styles adjust it (thresholdLines, stacked, bars, ...).
func timeSeries(s spec, styles ...func(*timeseries.PanelBuilder)) panel {
	s = s.size(12, 8)
	b := timeseries.NewPanelBuilder().
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
	for _, style := range styles {
		style(b)
	}
	return finish(b, s)
}

// thresholdLines draws the thresholds as dashed lines, where the alert rules put them.
func thresholdLines(b *timeseries.PanelBuilder) {
	b.ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// stacked stacks the series.
func stacked(b *timeseries.PanelBuilder) {
	b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).FillOpacity(40)
}

// bars draws bars instead of lines.
func bars(b *timeseries.PanelBuilder) {
	b.DrawStyle(common.GraphDrawStyleBars).FillOpacity(80)
}

// legendTable shows the legend as a table with the last and maximum values, for panels with many series.
func legendTable(b *timeseries.PanelBuilder) {
	b.Legend(common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementRight).
		ShowLegend(true).
		Calcs([]string{"lastNotNull", "max"}).
		SortBy("Last *").
		SortDesc(true))
}

// singleStat is a big number (the last value of each query), colored by the thresholds.
func singleStat(s spec, styles ...func(*stat.PanelBuilder)) panel {
	s = s.size(4, 4)
	b := stat.NewPanelBuilder().
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeAuto).
		JustifyMode(common.BigValueJustifyModeAuto).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(lastValue())
	for _, style := range styles {
		style(b)
	}
	return finish(b, s)
}

func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}

// barGauge is one bar per series (the last value), for "which host or device is the outlier" questions.
func barGauge(s spec) panel {
	s = s.size(12, 8)
	b := bargauge.NewPanelBuilder().
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ValueMode(common.BarGaugeValueModeColor).
		Orientation(common.VizOrientationHorizontal).
		ShowUnfilled(true).
		MinVizHeight(16).
		ReduceOptions(lastValue())
	return finish(b, s)
}

// stateTimeline shows one row per series and colors its value mappings over time.
func stateTimeline(s spec) panel {
	s = s.size(12, 8)
	b := statetimeline.NewPanelBuilder().
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		RowHeight(0.9).
		FillOpacity(80).
		LineWidth(0).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle))
	return finish(b, s)
}

// heatMap shows one row of cells per series (host × device), colored by value: a fleet at a glance.
func heatMap(s spec, min, max float32) panel {
	s = s.size(24, 10)
	b := heatmap.NewPanelBuilder().
		Calculate(false).
		Color(heatmap.NewHeatmapColorOptionsBuilder().
			Mode(heatmap.HeatmapColorModeScheme).
			Scheme("RdYlGn").
			Fill("dark-orange").
			Scale(heatmap.HeatmapColorScaleLinear).
			Exponent(0.5).
			Steps(32).
			Min(min).
			Max(max)).
		// Keep zeros: an idle device is the point of the map.
		FilterValues(heatmap.NewFilterValueRangeBuilder().Le(-1e9)).
		RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().Layout(common.HeatmapCellLayoutUnknown)).
		CellGap(1).
		CellValues(heatmap.NewCellValuesBuilder().Unit(s.unit)).
		YAxis(heatmap.NewYAxisConfigBuilder().AxisPlacement(common.AxisPlacementLeft)).
		ShowLegend()
	return finish(b, s)
}

// tablePanel is a table of instant queries, merged on their labels when there are several.
func tablePanel(s spec, sortBy string, desc bool) panel {
	s = s.size(12, 8)
	b := table.NewPanelBuilder().
		ShowHeader(true).
		CellHeight(common.TableCellHeightSm).
		Filterable(true).
		Align(common.FieldTextAlignmentAuto).
		// The SDK's default footer has a null reducer, which its own strict decoding rejects.
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}).CountRows(false))
	if sortBy != "" {
		b.SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName(sortBy).Desc(desc),
		})
	}
	return finish(b, s)
}

// logsPanel lists log records from Loki.
func logsPanel(s spec) panel {
	s = s.size(24, 10)
	b := logs.NewPanelBuilder().
		ShowTime(true).
		ShowLabels(false).
		ShowCommonLabels(false).
		WrapLogMessage(true).
		PrettifyLogMessage(false).
		EnableLogDetails(true).
		DedupStrategy(common.LogsDedupStrategyNone).
		SortOrder(common.LogsSortOrderDescending)
	return finish(b, s)
}

// thresholds builds absolute thresholds: a base color, then (value, color) steps in ascending order.
func thresholds(base string, steps ...step) *dashboard.ThresholdsConfigBuilder {
	ts := []dashboard.Threshold{{Color: base}}
	for _, st := range steps {
		ts = append(ts, dashboard.Threshold{Value: ptr(st.v), Color: st.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

type step struct {
	v     float64
	color string
}

// states maps values to texts and colors (state timelines, table cells).
func states(ms ...mapping) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, m := range ms {
		opts[m.value] = dashboard.ValueMappingResult{Text: ptr(m.text), Color: ptr(m.color), Index: ptr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

type mapping struct{ value, text, color string }

// Overrides used by several dashboards.

// dashedSeries draws the matching series as dashed lines without fill: limits and capacities next to usage.
func dashedSeries(regex string) override {
	return override{regex: regex, props: []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		{Id: "custom.fillOpacity", Value: 0},
		{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
	}}
}

// belowZero draws the matching series (transmit, write) below the axis.
func belowZero(regex string) override {
	return override{regex: regex, props: []dashboard.DynamicConfigValue{
		{Id: "custom.transform", Value: "negative-Y"},
	}}
}

// fixedColor colors the matching series.
func fixedColor(regex, color string) override {
	return override{regex: regex, props: []dashboard.DynamicConfigValue{
		{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": color}},
	}}
}

// column sets a table column's unit, and colors its cells by thresholds when th is given.
func column(name, unit string, th *dashboard.ThresholdsConfigBuilder) override {
	props := []dashboard.DynamicConfigValue{{Id: "unit", Value: unit}}
	if th != nil {
		t, _ := th.Build()
		props = append(props,
			dashboard.DynamicConfigValue{Id: "thresholds", Value: t},
			dashboard.DynamicConfigValue{Id: "custom.cellOptions", Value: map[string]any{"type": "color-background", "mode": "basic"}})
	}
	return override{regex: regexp.QuoteMeta(name), props: props}
}

// Transformations of table panels.

// mergeTable merges the instant queries of a table on their labels, drops the time column and names the
// value columns (renames maps "Value #A" and label names to headers; order lists the headers left to right).
func mergeTable(renames map[string]string, hide []string) []dashboard.DataTransformerConfig {
	if renames == nil {
		renames = map[string]string{}
	}
	exclude := map[string]bool{"Time": true}
	for _, h := range hide {
		exclude[h] = true
	}
	return []dashboard.DataTransformerConfig{
		{Id: "merge", Options: map[string]any{}},
		{Id: "organize", Options: map[string]any{
			"excludeByName": exclude,
			"renameByName":  renames,
		}},
	}
}
