package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// host is a selector of a metric on the selected hosts: host metrics and the collector's own telemetry.
func host(metric string, matchers ...string) string {
	return sel(metric, append([]string{onHost}, matchers...)...)
}

// rate is the per-second rate of a counter over the dashboard's rate interval.
func rate(selector string) string { return "rate(" + selector + "[$__rate_interval])" }

// collectorUp is Prometheus' up of both scrape jobs of a node's collector (exporter and own telemetry).
const collectorUp = `up{job=~"otelcol-gaudi.*", instance=~"$host"}`

// Host-level expressions, shared by the node summary and the graphs.
var (
	cpuBusy = `1 - sum by (instance) (` + rate(host("system_cpu_time_seconds_total", `state="idle"`)) + `) / sum by (instance) (` +
		rate(host("system_cpu_time_seconds_total")) + `)`
	// The memory scraper's used, free, buffered and cached add up to the total (slab_* overlap them).
	memUsed = `sum by (instance) (` + host("system_memory_usage_bytes", `state="used"`) + `) / sum by (instance) (` +
		host("system_memory_usage_bytes", `state=~"used|free|buffered|cached"`) + `)`
	// Used over used + free, as df shows it (the root-reserved blocks are not free for jobs).
	fsUsed = `sum by (instance, device, mountpoint) (` + host("system_filesystem_usage_bytes", `state="used"`) +
		`) / sum by (instance, device, mountpoint) (` + host("system_filesystem_usage_bytes", `state=~"used|free"`) + `)`
	loadPerCPU = func(window string) string {
		return `max by (instance) (` + host("system_cpu_load_average_"+window) + `) / on (instance) max by (instance) (` +
			host("system_cpu_logical_count") + `)`
	}
	netBits = `sum by (instance) (` + rate(host("system_network_io_bytes_total", `device!="lo"`)) + `) * 8`
)

// orZero keeps a per-group rate of a counter that exists only after its first failure at 0: the groups of
// a counter that always exists (base), times 0.
func orZero(expr, by, base string) string {
	return expr + ` or sum by (` + by + `) (` + rate(base) + `) * 0`
}

func infrastructureBoard() board {
	return board{
		file:  "infrastructure",
		uid:   uidInfra,
		title: titles[uidInfra],
		description: "The nodes under the HPUs and the collectors that watch them: CPU, load, memory, disk, filesystems " +
			"and network per host, whether every collector is up, receives, exports and keeps up, and on Kubernetes " +
			"the CPU and memory of the containers of the pods that hold HPUs.",
		tags:    []string{"otelcol-gaudi", "infrastructure", "collector"},
		from:    "now-3h",
		refresh: "30s",
		vars:    []variable{promVar(), hostVar(`up{job=~"otelcol-gaudi.*"}`)},
		rows: []row{
			{title: "Nodes", panels: infraSummary()},
			{title: "CPU and load", panels: infraCPU()},
			{title: "Memory", panels: infraMemory()},
			{title: "Disk and filesystems", panels: infraDisk()},
			{title: "Network", panels: infraNetwork()},
			{title: "Collector health", panels: collectorHealth()},
			{title: "Collector pipelines", panels: collectorPipelines()},
			{title: "Containers of pods holding HPUs", panels: infraPods()},
		},
	}
}

func infraSummary() []panel {
	return []panel{
		tablePanel(spec{title: "Node summary", unit: "none", w: 24,
			desc: "Which node is in trouble right now? Per host: collector up, CPU busy, load per CPU, memory used, the " +
				"fullest filesystem and network traffic.",
			queries: []query{
				promTable(`max by (instance) (` + collectorUp + `)`),
				promTable(cpuBusy),
				promTable(loadPerCPU("5m")),
				promTable(memUsed),
				promTable(`max by (instance) (` + fsUsed + `)`),
				promTable(netBits),
			},
			xforms: mergeTable(map[string]string{
				"instance": "Host", "Value #A": "collector up", "Value #B": "CPU busy", "Value #C": "load per CPU (5m)",
				"Value #D": "memory used", "Value #E": "fullest filesystem", "Value #F": "network",
			}, nil),
			overrides: []override{
				column("collector up", "none", thresholds("red", step{1, "green"})),
				column("CPU busy", "percentunit", thresholds("green", step{0.8, "orange"}, step{0.95, "red"})),
				column("load per CPU (5m)", "none", thresholds("green", step{1, "orange"}, step{2, "red"})),
				column("memory used", "percentunit", thresholds("green", step{0.8, "orange"}, step{0.9, "red"})),
				column("fullest filesystem", "percentunit", thresholds("green", step{0.8, "orange"}, step{0.9, "red"})),
				column("network", "bps", nil),
			},
		}, "Host", false),
	}
}

func infraCPU() []panel {
	return []panel{
		timeSeries(spec{title: "CPU busy per host", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Is a host's CPU saturated (data loaders, host-side preprocessing)? Fraction of CPU time not idle.",
			th:      thresholds("green", step{0.9, "red"}),
			queries: []query{prom(cpuBusy, "{{instance}}")},
		}, thresholdLines),
		timeSeries(spec{title: "CPU time by state", unit: "percentunit", min: ptr(0.0),
			desc: "What is the CPU busy with? Fraction of CPU time per state (user, system, iowait, ...) per host; " +
				"iowait means the CPUs wait for storage.",
			queries: []query{prom(`sum by (instance, state) (`+rate(host("system_cpu_time_seconds_total", `state!="idle"`))+
				`) / on (instance) group_left () sum by (instance) (`+rate(host("system_cpu_time_seconds_total"))+`)`, "{{instance}} {{state}}")},
		}),
		timeSeries(spec{title: "Load average per logical CPU", unit: "none", min: ptr(0.0),
			desc:    "Are more threads runnable than there are CPUs? Load averages over 1, 5 and 15 minutes divided by the logical CPUs.",
			th:      thresholds("green", step{1, "orange"}, step{2, "red"}),
			queries: []query{prom(loadPerCPU("1m"), "{{instance}} 1m"), prom(loadPerCPU("5m"), "{{instance}} 5m"), prom(loadPerCPU("15m"), "{{instance}} 15m")},
		}, thresholdLines),
		timeSeries(spec{title: "Running and blocked processes", unit: "none", min: ptr(0.0),
			desc:    "Do processes pile up waiting for I/O? Running and blocked (uninterruptible) processes per host.",
			queries: []query{prom(`sum by (instance, status) (`+host("system_processes_count", `status=~"running|blocked"`)+`)`, "{{instance}} {{status}}")},
		}),
	}
}

func infraMemory() []panel {
	return []panel{
		timeSeries(spec{title: "Memory used per host", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Is a host running out of memory (pinned host buffers, data loader workers)? Used over total memory.",
			th:      thresholds("green", step{0.9, "red"}),
			queries: []query{prom(memUsed, "{{instance}}")},
		}, thresholdLines),
		timeSeries(spec{title: "Memory by state", unit: "bytes", min: ptr(0.0),
			desc:    "Where does a host's memory go: used, page cache, buffers, free?",
			queries: []query{prom(`sum by (instance, state) (`+host("system_memory_usage_bytes", `state=~"used|free|buffered|cached"`)+`)`, "{{instance}} {{state}}")},
		}),
		timeSeries(spec{title: "Swap activity", unit: "ops", min: ptr(0.0),
			desc:    "Does a host swap? Major page-ins and page-outs per second; any steady rate slows training down.",
			th:      thresholds("green", step{1, "red"}),
			queries: []query{prom(`sum by (instance, direction) (`+rate(host("system_paging_operations_total", `type="major"`))+`)`, "{{instance}} {{direction}}")},
		}),
		timeSeries(spec{title: "Major page faults", unit: "ops", min: ptr(0.0),
			desc:    "How often do processes wait for pages from disk? Major page faults per second per host.",
			queries: []query{prom(`sum by (instance) (`+rate(host("system_paging_faults_total", `type="major"`))+`)`, "{{instance}}")},
		}),
	}
}

func infraDisk() []panel {
	return []panel{
		timeSeries(spec{title: "Disk throughput", unit: "Bps",
			desc:      "How much does each disk read (up) and write (down), e.g. data loading and checkpoints?",
			overrides: []override{belowZero(".* write")},
			queries:   []query{prom(`sum by (instance, device, direction) (`+rate(host("system_disk_io_bytes_total"))+`)`, "{{instance}} {{device}} {{direction}}")},
		}),
		timeSeries(spec{title: "Disk busy time", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Is a disk saturated? Fraction of time it had I/O in flight.",
			th:      thresholds("green", step{0.9, "red"}),
			queries: []query{prom(`sum by (instance, device) (`+rate(host("system_disk_io_time_seconds_total"))+`)`, "{{instance}} {{device}}")},
		}, thresholdLines),
		timeSeries(spec{title: "Disk I/O latency", unit: "s", min: ptr(0.0),
			desc: "How long does one disk operation take on average, reads and writes? Time spent in operations over the operations.",
			queries: []query{prom(`sum by (instance, device, direction) (`+rate(host("system_disk_operation_time_seconds_total"))+
				`) / sum by (instance, device, direction) (`+rate(host("system_disk_operations_total"))+`)`, "{{instance}} {{device}} {{direction}}")},
		}),
		timeSeries(spec{title: "Filesystem used", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Is a filesystem filling up (checkpoints, logs, datasets)? Used over used plus free, as df shows it.",
			th:      thresholds("green", step{0.8, "orange"}, step{0.9, "red"}),
			queries: []query{prom(fsUsed, "{{instance}} {{mountpoint}}")},
		}, thresholdLines),
		barGauge(spec{title: "Free space per filesystem", unit: "bytes", w: 24, h: 6,
			desc:    "How much room is left for the next checkpoint on each filesystem?",
			th:      thresholds("red", step{10 << 30, "orange"}, step{50 << 30, "green"}),
			queries: []query{promNow(`sum by (instance, mountpoint) (`+host("system_filesystem_usage_bytes", `state="free"`)+`)`, "{{instance}} {{mountpoint}}")},
		}),
	}
}

func infraNetwork() []panel {
	return []panel{
		timeSeries(spec{title: "Network throughput", unit: "bps",
			desc:      "How much does each host interface receive (up) and transmit (down)? Host NICs, not the HPUs' own links.",
			overrides: []override{belowZero(".* transmit")},
			queries:   []query{prom(`sum by (instance, device, direction) (`+rate(host("system_network_io_bytes_total", `device!="lo"`))+`) * 8`, "{{instance}} {{device}} {{direction}}")},
		}),
		timeSeries(spec{title: "Network errors and drops", unit: "pps", min: ptr(0.0),
			desc: "Does a host interface lose packets? Errors and drops per second per interface and direction.",
			th:   thresholds("green", step{1, "red"}),
			queries: []query{
				prom(`sum by (instance, device, direction) (`+rate(host("system_network_errors_total"))+`)`, "{{instance}} {{device}} {{direction}} errors"),
				prom(`sum by (instance, device, direction) (`+rate(host("system_network_dropped_total"))+`)`, "{{instance}} {{device}} {{direction}} dropped"),
			},
		}),
	}
}

// hpuPods are the pods the kubelet allocated HPUs to on the selected hosts, one series per pod (hpu_job puts
// the pod on hpu_info); the kubelet_stats receiver's series of those pods are joined with it.
const hpuPods = `group by (` + byPod + `) (hpu_info{instance=~"$host", k8s_pod_name!=""})`

// ofHPUPods keeps the series of expr (by instance, namespace, pod and more) whose pod holds an HPU.
func ofHPUPods(expr string) string {
	return expr + ` * on (` + byPod + `) group_left () ` + hpuPods
}

func infraPods() []panel {
	byContainer := byPod + ", k8s_container_name"
	legend := "{{k8s_namespace_name}}/{{k8s_pod_name}} {{k8s_container_name}}"
	return []panel{
		tablePanel(spec{title: "Pods holding HPUs", unit: "none", w: 24, h: 6,
			desc: "Which pods hold the HPUs of each host, and what do they use of the host? Per pod: HPUs allocated " +
				"(from the kubelet, through hpu_job), CPU cores and memory working set of all its containers (kubelet_stats).",
			links: []cog.Builder[dashboard.DashboardLink]{panelLink("HPU Monitoring", uidHPU, "host")},
			queries: []query{
				promTable(`count by (` + byPod + `) (hpu_info{instance=~"$host", k8s_pod_name!=""})`),
				promTable(ofHPUPods(`sum by (` + byPod + `) (` + host("k8s_pod_cpu_usage") + `)`)),
				promTable(ofHPUPods(`sum by (` + byPod + `) (` + host("k8s_pod_memory_working_set_bytes") + `)`)),
			},
			xforms: mergeTable(map[string]string{
				"instance": "Host", "k8s_namespace_name": "Namespace", "k8s_pod_name": "Pod",
				"Value #A": "HPUs", "Value #B": "CPU cores", "Value #C": "memory working set",
			}, nil),
			overrides: []override{column("CPU cores", "none", nil), column("memory working set", "bytes", nil)},
		}, "HPUs", true),
		timeSeries(spec{title: "CPU of containers in HPU pods", unit: "none", min: ptr(0.0),
			desc: "Is a training pod's data loading or preprocessing short of CPU? CPU cores used by each container of the " +
				"pods that hold HPUs, sidecars included (kubelet_stats container_cpu_usage).",
			queries: []query{prom(ofHPUPods(`sum by (`+byContainer+`) (`+host("container_cpu_usage")+`)`), legend)},
		}),
		timeSeries(spec{title: "Memory of containers in HPU pods", unit: "bytes", min: ptr(0.0),
			desc: "Is a container of a training pod about to be OOM-killed? Memory working set (what the kubelet's eviction " +
				"and the OOM killer count) of each container of the pods that hold HPUs (kubelet_stats).",
			queries: []query{prom(ofHPUPods(`sum by (`+byContainer+`) (`+host("container_memory_working_set_bytes")+`)`), legend)},
		}),
	}
}

func collectorHealth() []panel {
	inRange := func(metric string) string { return `sum(increase(` + host(metric) + `[$__range]))` }
	problem := func(title, desc, expr string) panel {
		return singleStat(spec{title: title, desc: desc, unit: "none", noValue: "0",
			th: thresholds("green", step{1, "red"}), queries: []query{prom(expr, "")}})
	}
	return []panel{
		singleStat(spec{title: "Collector targets up", unit: "none", noValue: "0",
			desc:    "How many of the collectors' scrape targets (exporter and own telemetry) does Prometheus reach?",
			th:      thresholds("blue"),
			queries: []query{prom(`sum(`+collectorUp+`)`, "")}}),
		problem("Collector targets down", "How many collector scrape targets does Prometheus fail to reach now?",
			`sum(1 - `+collectorUp+`)`),
		problem("Collector restarts", "How often did the collectors restart in the time range (their uptime counter reset)?",
			`sum(resets(`+host("otelcol_process_uptime")+`[$__range]))`),
		problem("Points lost in receivers", "How many metric points did the receivers refuse or fail to pass on in the time range? Any is data lost.",
			`(`+inRange("otelcol_receiver_refused_metric_points")+` or vector(0)) + (`+inRange("otelcol_receiver_failed_metric_points")+` or vector(0))`),
		problem("Failed exports in range", "How many metric points did the exporters fail to send, or could not queue, in the time range?",
			`(`+inRange("otelcol_exporter_send_failed_metric_points")+` or vector(0)) + (`+inRange("otelcol_exporter_enqueue_failed_metric_points")+` or vector(0))`),
		problem("Scrape errors in range", "How many scrape errors did the host metrics and HPU scrapers have in the time range?",
			`(`+inRange("otelcol_scraper_errored_metric_points")+` or vector(0)) + (`+inRange("hpu_scrape_errors_total")+` or vector(0))`),
		stateTimeline(spec{title: "Collector scrape targets", unit: "none", w: 24, h: 6,
			desc:    "When was which collector unreachable? Prometheus' up per host and scrape job.",
			maps:    states(mapping{"1", "up", "green"}, mapping{"0", "down", "red"}),
			queries: []query{prom(`max by (instance, job) (`+collectorUp+`)`, "{{instance}} {{job}}")},
		}),
	}
}

func collectorPipelines() []panel {
	return []panel{
		timeSeries(spec{title: "Points accepted per receiver", unit: "short", min: ptr(0.0),
			desc:    "Does every receiver (gaudi, host_metrics, otlp) take data in? Metric points accepted per second.",
			queries: []query{prom(`sum by (instance, receiver) (`+rate(host("otelcol_receiver_accepted_metric_points"))+`)`, "{{instance}} {{receiver}}")},
		}),
		timeSeries(spec{title: "Points refused or failed per receiver", unit: "short", min: ptr(0.0),
			desc: "Does a receiver lose data? Points refused (e.g. by the memory limiter) or failed downstream, per second; " +
				"any non-zero value is data lost.",
			th: thresholds("green", step{1, "red"}),
			queries: []query{
				prom(`sum by (instance, receiver) (`+rate(host("otelcol_receiver_refused_metric_points"))+`)`, "{{instance}} {{receiver}} refused"),
				prom(`sum by (instance, receiver) (`+rate(host("otelcol_receiver_failed_metric_points"))+`)`, "{{instance}} {{receiver}} failed"),
			},
		}),
		timeSeries(spec{title: "Points sent per exporter", unit: "short", min: ptr(0.0),
			desc:    "Does every exporter send? Metric points sent per second per exporter.",
			queries: []query{prom(`sum by (instance, exporter) (`+rate(host("otelcol_exporter_sent_metric_points"))+`)`, "{{instance}} {{exporter}}")},
		}),
		timeSeries(spec{title: "Export failures per exporter", unit: "short", min: ptr(0.0),
			desc: "Does an exporter fail to send or to queue? Points per second; the failure counters appear only after a " +
				"first failure, so exporters without any show 0.",
			th: thresholds("green", step{1, "red"}),
			queries: []query{
				prom(orZero(`sum by (instance, exporter) (`+rate(host("otelcol_exporter_send_failed_metric_points"))+`)`, "instance, exporter", host("otelcol_exporter_sent_metric_points")), "{{instance}} {{exporter}} send failed"),
				prom(orZero(`sum by (instance, exporter) (`+rate(host("otelcol_exporter_enqueue_failed_metric_points"))+`)`, "instance, exporter", host("otelcol_exporter_sent_metric_points")), "{{instance}} {{exporter}} enqueue failed"),
			},
		}),
		timeSeries(spec{title: "Exporter queue size against capacity", unit: "none", min: ptr(0.0),
			desc:      "Is an exporter's sending queue filling up (a slow or unreachable backend)? Queue size, and its capacity dashed.",
			overrides: []override{dashedSeries(".* capacity")},
			queries: []query{
				prom(`max by (instance, exporter) (`+host("otelcol_exporter_queue_size")+`)`, "{{instance}} {{exporter}} size"),
				prom(`max by (instance, exporter) (`+host("otelcol_exporter_queue_capacity")+`)`, "{{instance}} {{exporter}} capacity"),
			},
		}),
		timeSeries(spec{title: "Exporter queue fill", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "How close is each sending queue to dropping data? Size over capacity; a full queue refuses new data.",
			th:      thresholds("green", step{0.5, "orange"}, step{0.8, "red"}),
			queries: []query{prom(`max by (instance, exporter) (`+host("otelcol_exporter_queue_size")+`) / max by (instance, exporter) (`+host("otelcol_exporter_queue_capacity")+`)`, "{{instance}} {{exporter}}")},
		}, thresholdLines),
		timeSeries(spec{title: "Scrape errors", unit: "short", min: ptr(0.0),
			desc: "Do the scrapers fail? Errored points per second per host metrics scraper, and failed HPU reads per " +
				"second (each failed device and each failed scrape) per telemetry source.",
			th: thresholds("green", step{1, "red"}),
			queries: []query{
				prom(`sum by (instance, receiver, scraper) (`+rate(host("otelcol_scraper_errored_metric_points"))+`)`, "{{instance}} {{receiver}}/{{scraper}}"),
				prom(`sum by (instance, hpu_source) (`+rate(host("hpu_scrape_errors_total"))+`)`, "{{instance}} HPU reads ({{hpu_source}})"),
			},
		}),
		timeSeries(spec{title: "HPU scrape duration", unit: "s", min: ptr(0.0),
			desc:    "How long does reading all HPUs take? Close to the scrape timeout (5 s by default) means a hanging backend.",
			th:      thresholds("green", step{2, "orange"}, step{5, "red"}),
			queries: []query{prom(`max by (instance, hpu_source) (`+host("hpu_scrape_duration_seconds")+`)`, "{{instance}} {{hpu_source}}")},
		}, thresholdLines),
		timeSeries(spec{title: "Collector CPU", unit: "percentunit", min: ptr(0.0),
			desc:    "How much CPU does each collector use? 100 % is one core.",
			queries: []query{prom(`sum by (instance) (`+rate(host("otelcol_process_cpu_seconds"))+`)`, "{{instance}}")},
		}),
		timeSeries(spec{title: "Collector memory", unit: "bytes", min: ptr(0.0),
			desc: "How much memory does each collector hold: resident set size, and the Go heap inside it?",
			queries: []query{
				prom(`max by (instance) (`+host("otelcol_process_memory_rss")+`)`, "{{instance}} RSS"),
				prom(`max by (instance) (`+host("otelcol_process_runtime_heap_alloc_bytes")+`)`, "{{instance}} heap"),
			},
		}),
		timeSeries(spec{title: "Log records received and sent", unit: "short", min: ptr(0.0),
			desc: "Do the logs flow: training job logs and device events in, and log records (alert transitions included) " +
				"out to Loki or the debug exporter? Records per second.",
			queries: []query{
				prom(`sum by (instance, receiver) (`+rate(host("otelcol_receiver_accepted_log_records"))+`)`, "{{instance}} {{receiver}} accepted"),
				prom(`sum by (instance, exporter) (`+rate(host("otelcol_exporter_sent_log_records"))+`)`, "{{instance}} {{exporter}} sent"),
			},
		}),
		timeSeries(spec{title: "Alert rule evaluation in the collector", unit: "s", min: ptr(0.0),
			desc: "How long does the threshold connector take to evaluate the alert rules, on average per evaluation run? " +
				"A rising time delays ALERTS and alert events.",
			queries: []query{prom(`sum by (instance) (`+rate(host("otelcol_connector_threshold_evaluation_duration_sum"))+
				`) / sum by (instance) (`+rate(host("otelcol_connector_threshold_evaluation_duration_count"))+`)`, "{{instance}}")},
		}),
	}
}
