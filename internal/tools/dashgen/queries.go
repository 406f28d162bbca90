package main

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Every panel and query names its data source through the dashboard's data source variables, so one
// dashboard serves any Prometheus and Loki (provisioned with the uids prometheus and loki by default).
var (
	promDS = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
	lokiDS = common.DataSourceRef{Type: ptr("loki"), Uid: ptr("${loki_datasource}")}
)

// query is one target of a panel.
type query struct {
	expr   string
	legend string
	// instant asks for the last value only (stats of "now", tables, bar gauges).
	instant bool
	// table returns one row per series with its labels as columns.
	table bool
	// loki marks a LogQL query.
	loki bool
}

// prom is a PromQL range query with a legend.
func prom(expr, legend string) query { return query{expr: expr, legend: legend} }

// promNow is a PromQL instant query with a legend.
func promNow(expr, legend string) query { return query{expr: expr, legend: legend, instant: true} }

// promTable is a PromQL instant query in table format.
func promTable(expr string) query { return query{expr: expr, instant: true, table: true} }

// logQL is a LogQL query: log lines, or a metric query with a legend.
func logQL(expr, legend string) query { return query{expr: expr, legend: legend, loki: true} }

// logQLNow is an instant LogQL metric query with a legend.
func logQLNow(expr, legend string) query {
	return query{expr: expr, legend: legend, loki: true, instant: true}
}

func (q query) target(ref string) cog.Builder[variants.Dataquery] {
	if q.loki {
		b := loki.NewDataqueryBuilder().
			Expr(q.expr).
			RefId(ref).
			Datasource(lokiDS).
			EditorMode(loki.QueryEditorModeCode).
			QueryType(string(loki.LokiQueryTypeRange))
		if q.instant {
			b.QueryType(string(loki.LokiQueryTypeInstant))
		}
		if q.legend != "" {
			b.LegendFormat(q.legend)
		}
		return b
	}
	b := prometheus.NewDataqueryBuilder().
		Expr(q.expr).
		RefId(ref).
		Datasource(promDS).
		EditorMode(prometheus.QueryEditorModeCode)
	if q.legend != "" {
		b.LegendFormat(q.legend)
	}
	if q.instant {
		b.Instant()
	} else {
		b.Range()
	}
	if q.table {
		b.Format(prometheus.PromQueryFormatTable)
	} else {
		b.Format(prometheus.PromQueryFormatTimeSeries)
	}
	return b
}

// sel is a vector selector: the metric with the label matchers.
func sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(matchers, ", ") + "}"
}

// Matchers of the template variables. Multi-value variables have the allValue ".*", which also matches a
// missing label: with "All", HPU series of idle devices (no training_job_id) are kept.
const (
	onHost = `instance=~"$host"`
	onHPU  = `hpu_index=~"$hpu"`
	onJob  = `training_job_id=~"$job"`
	onRank = `training_rank=~"$rank"`
	// The pod and namespace the kubelet allocated a device to (hpu_job puts them on device series).
	onNamespace = `k8s_namespace_name=~"$namespace"`
	onPod       = `k8s_pod_name=~"$pod"`
	// inJob keeps only series that belong to a training job, also when $job is All.
	inJob = `training_job_id!=""`
	// inPod keeps only series of devices a pod holds.
	inPod = `k8s_pod_name!=""`
)

// Label sets that identify one device and one rank.
const (
	byDevice = "instance, hpu_index"
	byRank   = "training_job_id, training_rank"
	byPod    = "instance, k8s_namespace_name, k8s_pod_name"
)
