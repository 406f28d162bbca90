package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
)

// alerts is a selector of Prometheus' ALERTS series on the selected hosts, alert names and severities.
func alerts(matchers ...string) string {
	return sel("ALERTS", append([]string{onHost, `alertname=~"$alertname"`, `severity=~"$severity"`}, matchers...)...)
}

// alertEvents selects the threshold connector's alert transition records in Loki. The records of HPU alerts have
// no service.name (the alert has no job label), so Loki files them under service_name="unknown_service";
// the selector therefore takes every stream and the connector's scope (structured metadata) picks the records.
// alertname, severity and alert_state (from alert.state) are structured metadata too.
const alertEvents = `{service_name=~".+"} | scope_name="github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector"` +
	` | alertname=~"$alertname" | severity=~"$severity"`

// The severities of the rules in configs/prometheus/rules.
var severities = []string{"critical", "warning"}

func alertsBoard() board {
	return board{
		file:  "alerts",
		uid:   uidAlerts,
		title: titles[uidAlerts],
		description: "The alert rules of configs/prometheus/rules as Prometheus evaluates them (ALERTS) and as the " +
			"collectors report their transitions to Loki: what fires now, what fired when, and on which device or job.",
		tags:    []string{"otelcol-gaudi", "alerts"},
		from:    "now-24h",
		refresh: "1m",
		vars: []variable{
			promVar(), lokiVar(), hostVar(`up{job=~"otelcol-gaudi.*"}`),
			labelVar("severity", "Severity", "The alert rules' severity label.", "ALERTS", "severity", dashboard.VariableSortAlphabeticalAsc),
			labelVar("alertname", "Alert", "The alert rule.", `ALERTS{severity=~"$severity"}`, "alertname", dashboard.VariableSortAlphabeticalAsc),
		},
		rows: []row{
			{title: "Now", panels: alertsNow()},
			{title: "History", panels: alertsHistory()},
			{title: "Alert events in Loki", panels: alertsLoki()},
		},
	}
}

func alertsNow() []panel {
	bySeverity := func(state string) []query {
		var qs []query
		for _, s := range severities {
			qs = append(qs, prom(`count(`+alerts(`alertstate="`+state+`"`, `severity="`+s+`"`)+`) or vector(0)`, s))
		}
		return qs
	}
	return []panel{
		singleStat(spec{title: "Firing", unit: "none", w: 6, h: 5,
			desc:    "How many alerts fire now, by severity?",
			th:      thresholds("green", step{1, "red"}),
			queries: bySeverity("firing"),
		}, statNames),
		singleStat(spec{title: "Pending", unit: "none", w: 6, h: 5,
			desc:    "How many alerts have their condition true but have not lasted their 'for' duration yet, by severity?",
			th:      thresholds("green", step{1, "orange"}),
			queries: bySeverity("pending"),
		}, statNames),
		singleStat(spec{title: "Alert rules firing", unit: "none", w: 6, h: 5, noValue: "0",
			desc:    "How many different alert rules fire now?",
			th:      thresholds("green", step{1, "red"}),
			queries: []query{prom(`count(count by (alertname) (`+alerts(`alertstate="firing"`)+`)) or vector(0)`, "")},
		}),
		singleStat(spec{title: "Hosts with firing alerts", unit: "none", w: 6, h: 5, noValue: "0",
			desc:    "How many hosts have at least one firing alert?",
			th:      thresholds("green", step{1, "red"}),
			queries: []query{prom(`count(count by (instance) (`+alerts(`alertstate="firing"`)+`)) or vector(0)`, "")},
		}),
		tablePanel(spec{title: "Active alerts", unit: "none", w: 24, h: 9,
			desc: "Which alerts are pending or firing now, on which host, device or job? One row per alert; the HPU and job " +
				"columns link to the HPU Monitoring and Training Performance dashboards.",
			queries: []query{promTable(alerts())},
			xforms:  mergeTable(nil, []string{"Value", "__name__", "job", "otel_scope_name", "otel_scope_schema_url", "otel_scope_version"}),
			overrides: []override{
				{regex: "alertstate", props: []dashboard.DynamicConfigValue{
					{Id: "mappings", Value: states(mapping{"firing", "firing", "red"}, mapping{"pending", "pending", "orange"})},
					{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
				}},
				{regex: "severity", props: []dashboard.DynamicConfigValue{
					{Id: "mappings", Value: states(mapping{"critical", "critical", "red"}, mapping{"warning", "warning", "orange"})},
					{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
				}},
				cellLink("hpu_index", "HPU Monitoring", "/d/"+uidHPU+"?${__url_time_range}&var-host=${__data.fields.instance}&var-hpu=${__data.fields.hpu_index}"),
				cellLink("training_job_id", "Training Performance", "/d/"+uidTraining+"?${__url_time_range}&var-job=${__data.fields.training_job_id}"),
			},
		}, "severity", false),
	}
}

// statNames shows each query's legend above its number.
func statNames(b *stat.PanelBuilder) { b.TextMode(common.BigValueTextModeValueAndName) }

// cellLink makes a table column's cells links.
func cellLink(column, title, url string) override {
	l, _ := dashboard.NewDashboardLinkBuilder(title).Url(url).Build()
	return override{regex: column, props: []dashboard.DynamicConfigValue{{Id: "links", Value: []dashboard.DashboardLink{l}}}}
}

func alertsHistory() []panel {
	var counts []query
	for _, state := range []string{"firing", "pending"} {
		for _, s := range severities {
			counts = append(counts, prom(`count(`+alerts(`alertstate="`+state+`"`, `severity="`+s+`"`)+`) or vector(0)`, state+" "+s))
		}
	}
	key := "alertname, instance, hpu_index, training_job_id, training_rank"
	return []panel{
		stateTimeline(spec{title: "Alert state over time", unit: "none", w: 24, h: 10,
			desc: "When was which alert pending or firing? One row per alert rule and host, device or job/rank " +
				"(firing wins over pending).",
			maps: states(mapping{"1", "pending", "orange"}, mapping{"2", "firing", "red"}),
			queries: []query{prom(`max by (`+key+`) (`+alerts(`alertstate="firing"`)+`) * 2 or max by (`+key+`) (`+alerts(`alertstate="pending"`)+`)`,
				"{{alertname}} {{instance}} {{hpu_index}} {{training_job_id}} {{training_rank}}")},
		}),
		timeSeries(spec{title: "Active alerts by state and severity", unit: "none", min: ptr(0.0), dec: ptr(0.0),
			desc: "How many alerts were pending or firing over time, by severity?",
			overrides: []override{
				fixedColor("firing critical", "red"), fixedColor("firing warning", "orange"),
				fixedColor("pending critical", "purple"), fixedColor("pending warning", "yellow"),
			},
			queries: counts,
		}, bars, stacked),
		barGauge(spec{title: "Alerts that fired in the time range", unit: "none",
			desc:    "Which alert rules fired in the time range, and on how many hosts, devices or jobs each?",
			th:      thresholds("orange"),
			queries: []query{promNow(`sort_desc(count by (alertname, severity) (max_over_time(`+alerts(`alertstate="firing"`)+`[$__range])))`, "{{alertname}} ({{severity}})")},
		}),
	}
}

func alertsLoki() []panel {
	return []panel{
		timeSeries(spec{title: "Alert transitions per rule", unit: "none", min: ptr(0.0), dec: ptr(0.0),
			desc: "How often did each alert rule fire and resolve? Transition records per interval from the collectors' " +
				"threshold connector, in Loki.",
			queries: []query{logQL(`sum by (alertname, alert_state) (count_over_time(`+alertEvents+` [$__interval]))`, "{{alertname}} {{alert_state}}")},
		}, bars),
		barGauge(spec{title: "Devices with the most firing transitions", unit: "none",
			desc:    "Which HPUs fire alerts most often in the time range, by rule? Firing transitions per device (hpu_uuid) from Loki.",
			th:      thresholds("orange"),
			queries: []query{logQLNow(`topk(10, sum by (alertname, hpu_uuid) (count_over_time(`+alertEvents+` | alert_state="firing" | hpu_uuid!="" [$__range])))`, "{{alertname}} {{hpu_uuid}}")},
		}),
		logsPanel(spec{title: "Alert transition records",
			desc: "What exactly fired or resolved, when, with which value and labels? The collectors' transition records " +
				"(firing, resolved) from Loki, newest first; open a record for its labels, value and timestamps.",
			queries: []query{logQL(alertEvents, "")},
		}),
	}
}
