package main

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

type variable = cog.Builder[dashboard.VariableModel]

// promVar is the Prometheus data source; its default is the provisioned data source of uid "prometheus".
func promVar() variable {
	return dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Prometheus").
		Description("Prometheus that scrapes the otelcol-gaudi collectors.").
		Type("prometheus").
		Current(option("prometheus", "prometheus")).
		Regex("")
}

// lokiVar is the Loki data source; its default is the provisioned data source of uid "loki".
func lokiVar() variable {
	return dashboard.NewDatasourceVariableBuilder("loki_datasource").
		Label("Loki").
		Description("Loki that receives the collectors' logs over OTLP.").
		Type("loki").
		Current(option("loki", "loki")).
		Regex("")
}

// labelVar is a multi-select variable over the values of a label: label_values(selector, label), "All" by
// default. Its allValue ".*" also matches series without the label.
func labelVar(name, label, desc, selector, labelName string, sort dashboard.VariableSort) variable {
	q := fmt.Sprintf("label_values(%s, %s)", selector, labelName)
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(desc).
		Datasource(promDS).
		Query(dashboard.StringOrMap{String: ptr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(sort).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(allOption())
}

// The variables the dashboards share, with the same names everywhere so that links can carry them.

func hostVar(selector string) variable {
	return labelVar("host", "Host", "The node: Prometheus' instance label of the collector's scrape target.",
		selector, "instance", dashboard.VariableSortAlphabeticalAsc)
}

func jobVar() variable {
	return labelVar("job", "Training job", "The training job id (training_job_id).",
		"training_samples_total", "training_job_id", dashboard.VariableSortAlphabeticalAsc)
}

func hpuVar() variable {
	return labelVar("hpu", "HPU", "The device's driver index (hpu_index) on the selected hosts.",
		`hpu_info{instance=~"$host"}`, "hpu_index", dashboard.VariableSortNumericalAsc)
}

func namespaceVar() variable {
	return labelVar("namespace", "Namespace", "The Kubernetes namespace of the pods holding HPUs (k8s_namespace_name, from the kubelet).",
		`hpu_info{instance=~"$host"}`, "k8s_namespace_name", dashboard.VariableSortAlphabeticalAsc)
}

func podVar() variable {
	return labelVar("pod", "Pod", "The pod an HPU is allocated to (k8s_pod_name, from the kubelet), in the selected namespaces.",
		`hpu_info{instance=~"$host", k8s_namespace_name=~"$namespace"}`, "k8s_pod_name", dashboard.VariableSortAlphabeticalAsc)
}

func rankVar() variable {
	return labelVar("rank", "Rank", "The global rank (training_rank) in the selected jobs.",
		`training_samples_total{training_job_id=~"$job"}`, "training_rank", dashboard.VariableSortNumericalAsc)
}

func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: ptr(true),
		Text:     dashboard.StringOrArrayOfString{String: ptr(text)},
		Value:    dashboard.StringOrArrayOfString{String: ptr(value)},
	}
}

func allOption() dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: ptr(true),
		Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
		Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
	}
}
