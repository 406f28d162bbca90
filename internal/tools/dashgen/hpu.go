package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// hpu is a selector of an HPU metric on the selected hosts, devices, jobs, namespaces and pods.
func hpu(metric string, matchers ...string) string {
	return sel(metric, append([]string{onHost, onHPU, onJob, onNamespace, onPod}, matchers...)...)
}

// firingHPU selects the firing alerts about HPUs on the selected hosts, devices, namespaces and pods.
const firingHPU = `ALERTS{alertstate="firing", hpu_uuid!="", instance=~"$host", hpu_index=~"$hpu", k8s_namespace_name=~"$namespace", k8s_pod_name=~"$pod"}`

// perDevice is one series per device (see the docs: a device briefly has series with and without a job's labels).
func perDevice(expr string) string { return "max by (" + byDevice + ") (" + expr + ")" }

const deviceLegend = "{{instance}} HPU {{hpu_index}}"

// powerLimit is the power cap in force, or the default limit where the library cannot report the cap, as
// HPUPowerAtLimit reads it.
func powerLimit() string {
	return "(" + hpu("hpu_power_limit_watts") + " or " + hpu("hpu_power_limit_default_watts") + ")"
}

func hpuBoard() board {
	return board{
		file:  "hpu-monitoring",
		uid:   uidHPU,
		title: titles[uidHPU],
		description: "Every Gaudi HPU of the fleet: health, utilization, memory, temperature (chip, board, HBM) against the " +
			"device's own thresholds, power against its cap, clocks and time throttled, ECC errors and rows, NIC links and " +
			"traffic, PCIe, per host and device.",
		tags:    []string{"otelcol-gaudi", "gaudi", "hpu"},
		from:    "now-3h",
		refresh: "30s",
		vars:    []variable{promVar(), hostVar("hpu_info"), hpuVar(), jobVar(), namespaceVar(), podVar()},
		annotations: []cog.Builder[dashboard.AnnotationQuery]{
			firingAlerts("Firing HPU alerts", firingHPU),
		},
		rows: []row{
			{title: "Fleet health", panels: hpuHealthStats()},
			{title: "Fleet map", panels: hpuFleetMap()},
			{title: "Utilization and memory", panels: hpuUtilization()},
			{title: "Temperature and power", panels: hpuThermalPower()},
			{title: "Clocks and throttling", panels: hpuClocks()},
			{title: "Memory errors: ECC and row replacement", panels: hpuMemoryErrors()},
			{title: "Interconnect: NIC links and PCIe", panels: hpuInterconnect()},
			{title: "Inventory", collapsed: true, panels: hpuInventory()},
		},
	}
}

func hpuHealthStats() []panel {
	count := func(title, desc, expr string, alerts ...string) panel {
		return singleStat(spec{title: title, desc: desc, unit: "none", noValue: "0", alerts: alerts,
			th: thresholds("green", step{1, "red"}), queries: []query{prom(expr, "")}})
	}
	return []panel{
		singleStat(spec{title: "Firing HPU alerts", unit: "none", noValue: "0",
			desc:    "How many alerts on HPU metrics are firing now? The link opens the Alerts dashboard on the same hosts.",
			th:      thresholds("green", step{1, "red"}),
			links:   []cog.Builder[dashboard.DashboardLink]{panelLink("Alerts", uidAlerts, "host")},
			queries: []query{prom(`count(`+firingHPU+`) or vector(0)`, "")}}),
		singleStat(spec{title: "Healthy HPUs", unit: "none", noValue: "0",
			desc:    "How many of the selected HPUs report the health state ok?",
			th:      thresholds("blue"),
			queries: []query{prom(`sum(`+perDevice(hpu("hpu_health", `hpu_state="ok"`))+`)`, "")}}),
		count("Degraded, failed or unknown HPUs", "How many HPUs report the health state degraded (e.g. rows pending replacement), "+
			"failed (unreadable) or unknown (the collector's telemetry source no longer reports them: hl-smi hangs, HLML is gone)?",
			`sum(`+perDevice(hpu("hpu_health", `hpu_state=~"degraded|failed|unknown"`))+`)`, "HPUDeviceFailed", "HPUHealthUnknown"),
		singleStat(spec{title: "HPUs lost in 24 h", unit: "none", noValue: "0",
			desc: "Did a host lose a card? Devices the telemetry source found at most in the last 24 hours minus those it " +
				"finds now, summed over hosts.",
			th:      thresholds("green", step{1, "red"}),
			queries: []query{promNow(`sum(max by (instance) (max_over_time(hpu_devices{instance=~"$host"}[1d])) - max by (instance) (hpu_devices{instance=~"$host"}))`, "")}}),
		singleStat(spec{title: "Mean utilization", unit: "percent", min: ptr(0.0), max: ptr(100.0),
			desc:    "Are the HPUs busy? Mean utilization over the selected devices; red below the 20 % of HPULowUtilization.",
			th:      thresholds("red", step{20, "orange"}, step{50, "green"}),
			queries: []query{prom(`avg(`+perDevice(hpu("hpu_utilization_percent"))+`)`, "")}}),
		singleStat(spec{title: "Total power draw", unit: "watt",
			desc:    "How much power do the selected HPUs draw together now?",
			th:      thresholds("blue"),
			queries: []query{prom(`sum(`+perDevice(hpu("hpu_power_watts"))+`)`, "")}}),
		singleStat(spec{title: "Hottest chip", unit: "celsius",
			desc:    "What is the highest on-chip temperature of the selected HPUs? HPUHighTemperature fires above 85 °C.",
			th:      thresholds("green", step{80, "orange"}, step{85, "red"}),
			queries: []query{prom(`max(`+hpu("hpu_temperature_celsius", `hpu_sensor="on_chip"`)+`)`, "")}}),
		singleStat(spec{title: "Least headroom to slowdown", unit: "celsius",
			desc: "How close is the hottest device to its own slowdown threshold (device threshold minus on-chip temperature)? " +
				"HPUTemperatureNearSlowdown fires within 5 °C.",
			th:      thresholds("red", step{5, "orange"}, step{10, "green"}),
			queries: []query{prom(`min(`+headroom(`hpu_threshold="slowdown"`)+`)`, "")}}),
		singleStat(spec{title: "HBM used (all selected)", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "How full is the HBM of the selected HPUs together? HighMemoryUsage fires per device above 90 %.",
			th:      thresholds("green", step{0.8, "orange"}, step{0.9, "red"}),
			queries: []query{prom(`sum(`+perDevice(hpu("hpu_memory_used_bytes"))+`) / sum(`+perDevice(hpu("hpu_memory_total_bytes"))+`)`, "")}}),
		count("Throttled HPUs", "How many HPUs have their clocks throttled now, for any reason?",
			`sum(`+perDevice(hpu("hpu_clock_throttle_active"))+`)`, "HPUClockThrottling"),
		count("NIC links down", "How many NIC ports of the selected HPUs have no link?",
			`sum(1 - max by (instance, hpu_index, hpu_nic_port) (`+hpu("hpu_nic_link_up")+`))`, "HPUNICLinkDown"),
		count("HPUs with rows pending", "How many HPUs have HBM rows waiting for replacement, so need a reset?",
			`sum(`+perDevice(hpu("hpu_rows_pending"))+`)`, "HPURowReplacementPending"),
	}
}

// headroom is the device's thermal threshold(s) minus its on-chip temperature, per device and threshold.
func headroom(threshold string) string {
	return `min by (instance, hpu_index, hpu_threshold) (` + hpu("hpu_temperature_limit_celsius", threshold) + `)` +
		` - on (instance, hpu_index) group_left () ` + perDevice(hpu("hpu_temperature_celsius", `hpu_sensor="on_chip"`))
}

func hpuFleetMap() []panel {
	perHost := func(state string) string {
		return `sum by (instance) (` + perDevice(hpu("hpu_health", `hpu_state="`+state+`"`)) + `)`
	}
	bad := thresholds("green", step{1, "red"})
	return []panel{
		tablePanel(spec{title: "Health per host", unit: "none",
			desc: "Which host has devices that are not ok, and did it lose any? Per host: devices ok, degraded, failed and unknown " +
				"(not reported by the telemetry source), the devices the source reports now and the most it reported in 24 hours " +
				"(a lost card shows as a difference).",
			alerts: []string{"HPUDeviceFailed", "HPUHealthUnknown"},
			queries: []query{
				promTable(perHost("ok")),
				promTable(perHost("degraded")),
				promTable(perHost("failed")),
				promTable(perHost("unknown")),
				promTable(`max by (instance) (hpu_devices{instance=~"$host"})`),
				promTable(`max by (instance) (max_over_time(hpu_devices{instance=~"$host"}[1d]))`),
			},
			xforms: mergeTable(map[string]string{
				"instance": "Host", "Value #A": "ok", "Value #B": "degraded", "Value #C": "failed", "Value #D": "unknown",
				"Value #E": "devices now", "Value #F": "devices, 24 h max",
			}, nil),
			overrides: []override{column("degraded", "none", bad), column("failed", "none", bad), column("unknown", "none", bad)},
		}, "failed", true),
		stateTimeline(spec{title: "Device health over time", unit: "none",
			desc: "When was which device degraded, failed or unknown (not reported by the telemetry source)? One row per host and HPU, from hpu_health.",
			maps: states(
				mapping{"0", "ok", "green"},
				mapping{"1", "degraded", "orange"},
				mapping{"2", "failed", "red"},
				mapping{"3", "unknown", "purple"}),
			alerts: []string{"HPUDeviceFailed", "HPUHealthUnknown"},
			queries: []query{prom(
				perDevice(hpu("hpu_health", `hpu_state="degraded"`)+` or `+hpu("hpu_health", `hpu_state="failed"`)+` * 2`+
					` or `+hpu("hpu_health", `hpu_state="unknown"`)+` * 3`), deviceLegend)},
		}),
		heatMap(spec{title: "Utilization map (host × HPU)", unit: "percent",
			desc: "Which devices sit idle or run cool while the others work? One row of cells per host and HPU, red when " +
				"idle, green when busy: the fleet at a glance.",
			alerts:  []string{"HPULowUtilization"},
			queries: []query{prom(perDevice(hpu("hpu_utilization_percent")), deviceLegend)},
		}, 0, 100),
	}
}

func hpuUtilization() []panel {
	return []panel{
		timeSeries(spec{title: "Utilization per HPU", unit: "percent", min: ptr(0.0), max: ptr(100.0),
			desc:    "How busy is each HPU's compute over time? The dashed line is the 20 % of HPULowUtilization.",
			th:      thresholds("red", step{20, "green"}),
			alerts:  []string{"HPULowUtilization"},
			queries: []query{prom(perDevice(hpu("hpu_utilization_percent")), deviceLegend)},
		}, thresholdLines),
		timeSeries(spec{title: "Utilization per training job", unit: "percent", min: ptr(0.0), max: ptr(100.0),
			desc: "How well does each job use its HPUs? Mean utilization of the devices each job uses, from the " +
				"training_job_id that the hpu_job processor puts on the device's series.",
			links:   []cog.Builder[dashboard.DashboardLink]{panelLink("Training Performance", uidTraining, "job")},
			queries: []query{prom(`avg by (training_job_id) (max by (instance, hpu_index, training_job_id) (`+hpu("hpu_utilization_percent", inJob)+`))`, "{{training_job_id}}")},
		}),
		timeSeries(spec{title: "HBM used, fraction of total", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Is any HPU about to run out of HBM? Used over total memory per device; the dashed line is the 90 % of HighMemoryUsage.",
			th:      thresholds("green", step{0.9, "red"}),
			alerts:  []string{"HighMemoryUsage"},
			queries: []query{prom(perDevice(hpu("hpu_memory_used_bytes")+` / `+hpu("hpu_memory_total_bytes")), deviceLegend)},
		}, thresholdLines),
		timeSeries(spec{title: "HBM used against total, per host", unit: "bytes", min: ptr(0.0),
			desc: "How much HBM do the selected devices of each host use, against what they have? Used (solid) and total " +
				"(dashed) summed over the host's selected HPUs.",
			overrides: []override{dashedSeries(".* total")},
			queries: []query{
				prom(`sum by (instance) (`+perDevice(hpu("hpu_memory_used_bytes"))+`)`, "{{instance}} used"),
				prom(`sum by (instance) (`+perDevice(hpu("hpu_memory_total_bytes"))+`)`, "{{instance}} total"),
			},
		}),
		timeSeries(spec{title: "Utilization per pod", unit: "percent", min: ptr(0.0), max: ptr(100.0),
			desc: "How well does each pod use the HPUs the kubelet allocated to it? Mean utilization of each pod's devices, " +
				"from the k8s_namespace_name and k8s_pod_name that the hpu_job processor puts on the device's series.",
			links: []cog.Builder[dashboard.DashboardLink]{panelLink("Infrastructure: the pods' containers", uidInfra, "host")},
			queries: []query{prom(`avg by (k8s_namespace_name, k8s_pod_name) (max by (instance, hpu_index, k8s_namespace_name, k8s_pod_name) (`+
				hpu("hpu_utilization_percent", inPod)+`))`, "{{k8s_namespace_name}}/{{k8s_pod_name}}")},
		}),
	}
}

func hpuThermalPower() []panel {
	return []panel{
		timeSeries(spec{title: "Chip temperature", unit: "celsius",
			desc: "How hot is each HPU's chip, and how far from the device's own thresholds? On-chip temperature per device, " +
				"the lowest slowdown and shutdown thresholds of the selected devices (dashed red), and the fixed 85 °C of " +
				"HPUHighTemperature (dashed line).",
			th:        thresholds("green", step{85, "red"}),
			alerts:    []string{"HPUHighTemperature", "HPUTemperatureNearSlowdown"},
			overrides: []override{dashedSeries(".* threshold")},
			queries: []query{
				prom(perDevice(hpu("hpu_temperature_celsius", `hpu_sensor="on_chip"`)), deviceLegend),
				prom(`min by (hpu_threshold) (`+hpu("hpu_temperature_limit_celsius", `hpu_threshold=~"slowdown|shutdown"`)+`)`, "lowest {{hpu_threshold}} threshold"),
			},
		}, thresholdLines),
		timeSeries(spec{title: "Headroom to the device's thermal thresholds", unit: "celsius",
			desc: "How many degrees can each chip still rise before it slows down or shuts down? The device's slowdown and " +
				"shutdown thresholds (hpu_temperature_limit_celsius) minus its on-chip temperature; HPUTemperatureNearSlowdown " +
				"fires below 5 °C to slowdown.",
			th:      thresholds("red", step{5, "orange"}, step{10, "green"}),
			alerts:  []string{"HPUTemperatureNearSlowdown"},
			queries: []query{prom(headroom(`hpu_threshold=~"slowdown|shutdown"`), deviceLegend+" to {{hpu_threshold}}")},
		}, thresholdLines),
		timeSeries(spec{title: "Board temperature", unit: "celsius",
			desc:    "How hot is each HPU's board? HPUHighTemperature applies to every sensor, so it fires on the board above 85 °C too.",
			th:      thresholds("green", step{85, "red"}),
			alerts:  []string{"HPUHighTemperature"},
			queries: []query{prom(perDevice(hpu("hpu_temperature_celsius", `hpu_sensor="on_board"`)), deviceLegend)},
		}, thresholdLines),
		timeSeries(spec{title: "Power draw against the limit", unit: "percentunit", min: ptr(0.0),
			desc: "Is any HPU at its power cap? Power over the cap in force (the default limit where none is reported); HPUPowerAtLimit fires at 100 % " +
				"for 5 minutes. A draw far above the limit is a broken sensor or card.",
			th:      thresholds("green", step{0.95, "orange"}, step{1, "red"}),
			alerts:  []string{"HPUPowerAtLimit"},
			queries: []query{prom(perDevice(hpu("hpu_power_watts")+` / `+powerLimit()), deviceLegend)},
		}, thresholdLines),
		timeSeries(spec{title: "Power draw", unit: "watt", min: ptr(0.0),
			desc:      "How many watts does each HPU draw, against the lowest power limit of the selected devices (dashed)?",
			alerts:    []string{"HPUPowerAtLimit"},
			overrides: []override{dashedSeries("lowest power limit")},
			queries: []query{
				prom(perDevice(hpu("hpu_power_watts")), deviceLegend),
				prom(`min(`+powerLimit()+`)`, "lowest power limit"),
			},
		}),
		barGauge(spec{title: "Energy per host in the time range", unit: "kwatth", w: 6,
			desc:    "How much energy did each host's HPUs use in the dashboard's time range (hpu_energy_joules_total)?",
			th:      thresholds("blue"),
			queries: []query{promNow(`sum by (instance) (increase(`+hpu("hpu_energy_joules_total")+`[$__range])) / 3.6e6`, "{{instance}}")},
		}),
		barGauge(spec{title: "Energy per training job in the time range", unit: "kwatth", w: 6,
			desc:    "How much energy did each training job's HPUs use in the time range? Counts the time the devices carried the job's labels.",
			th:      thresholds("blue"),
			links:   []cog.Builder[dashboard.DashboardLink]{panelLink("Training Performance", uidTraining, "job")},
			queries: []query{promNow(`sum by (training_job_id) (increase(`+hpu("hpu_energy_joules_total", inJob)+`[$__range])) / 3.6e6`, "{{training_job_id}}")},
		}),
		timeSeries(spec{title: "HBM temperature", unit: "celsius",
			desc: "How hot is each HPU's memory (its hottest HBM stack), against the lowest HBM limit of the selected devices " +
				"(the device's memory_max threshold, dashed)? HPUHighTemperature applies to every hpu_temperature_celsius " +
				"sensor, not to the HBM, which runs hotter.",
			overrides: []override{dashedSeries("lowest HBM limit")},
			queries: []query{
				prom(perDevice(hpu("hpu_memory_temperature_celsius")), deviceLegend),
				prom(`min(`+hpu("hpu_temperature_limit_celsius", `hpu_threshold="memory_max"`)+`)`, "lowest HBM limit"),
			},
		}),
		tablePanel(spec{title: "Power cap in force against the default limit", unit: "watt",
			desc: "Was any HPU's power capped below its default limit (hl-smi -p)? The cap in force (hpu_power_limit_watts, " +
				"which the power panels above divide by) and the device's default limit, per device.",
			queries: []query{
				promTable(perDevice(hpu("hpu_power_limit_watts"))),
				promTable(perDevice(hpu("hpu_power_limit_default_watts"))),
				promTable(perDevice(hpu("hpu_power_limit_watts") + ` / ` + hpu("hpu_power_limit_default_watts"))),
			},
			xforms: mergeTable(map[string]string{
				"instance": "Host", "hpu_index": "HPU", "Value #A": "Cap in force", "Value #B": "Default limit", "Value #C": "Cap / default",
			}, nil),
			overrides: []override{column("Cap / default", "percentunit", thresholds("orange", step{1, "green"}))},
		}, "Cap / default", false),
	}
}

func hpuClocks() []panel {
	return []panel{
		timeSeries(spec{title: "SoC clock, fraction of maximum", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Does any HPU run below its maximum clock? Current over maximum SoC clock per device; throttled devices drop.",
			th:      thresholds("red", step{0.8, "orange"}, step{0.95, "green"}),
			queries: []query{prom(perDevice(hpu("hpu_clock_soc_hertz")+` / `+hpu("hpu_clock_soc_max_hertz")), deviceLegend)},
		}),
		stateTimeline(spec{title: "Clock throttling by reason", unit: "none",
			desc: "When and why were the clocks throttled? One row per device and reason (power, thermal); " +
				"HPUClockThrottling fires after 5 minutes.",
			maps:    states(mapping{"0", "not throttled", "green"}, mapping{"1", "throttled", "red"}),
			alerts:  []string{"HPUClockThrottling"},
			queries: []query{prom(`max by (instance, hpu_index, hpu_throttle_reason) (`+hpu("hpu_clock_throttle_active")+`)`, deviceLegend+" {{hpu_throttle_reason}}")},
		}),
		timeSeries(spec{title: "Time throttled, by reason", unit: "percentunit", w: 24, min: ptr(0.0), max: ptr(1.0),
			desc: "What share of the time were the clocks throttled, for power or for heat? The rate of the device's own " +
				"throttle-time counter (hpu_clock_throttle_time_seconds_total), so throttling between two scrapes counts too.",
			th: thresholds("green", step{0.05, "orange"}, step{0.25, "red"}),
			queries: []query{prom(`max by (instance, hpu_index, hpu_throttle_reason) (rate(`+hpu("hpu_clock_throttle_time_seconds_total")+`[$__rate_interval]))`,
				deviceLegend+" {{hpu_throttle_reason}}")},
		}, thresholdLines),
	}
}

func hpuMemoryErrors() []panel {
	return []panel{
		stateTimeline(spec{title: "Row replacement pending", unit: "none",
			desc:    "Which HPUs have HBM rows waiting for replacement, so need a reset before they are trusted again?",
			maps:    states(mapping{"0", "none pending", "green"}, mapping{"1", "pending: reset needed", "red"}),
			alerts:  []string{"HPURowReplacementPending"},
			queries: []query{prom(perDevice(hpu("hpu_rows_pending")), deviceLegend)},
		}),
		timeSeries(spec{title: "Replaced HBM rows by cause", unit: "none", dec: ptr(0.0), min: ptr(0.0),
			desc:    "How many HBM rows has each HPU replaced, after single-bit or double-bit ECC errors? A rising count is a failing memory.",
			queries: []query{prom(`max by (instance, hpu_index, hpu_row_cause) (`+hpu("hpu_rows_replaced")+`)`, deviceLegend+" {{hpu_row_cause}}")},
		}),
		singleStat(spec{title: "HPUs with ECC disabled", unit: "none", noValue: "0", w: 6, h: 8,
			desc:    "Is ECC off on any HPU's memory? Without it, memory errors go undetected.",
			th:      thresholds("green", step{1, "red"}),
			queries: []query{prom(`sum(1 - `+perDevice(hpu("hpu_ecc_enabled"))+`)`, "")}}),
		timeSeries(spec{title: "Impossible readings dropped", unit: "none", noValue: "0", w: 18, min: ptr(0.0),
			desc: "Does a device report physically impossible values (e.g. 505712272 °C, 1900 W on a 600 W card)? Readings the " +
				"receiver's sanity bounds dropped, per device and metric; the series exists only once a reading was dropped.",
			queries: []query{prom(`sum by (instance, hpu_index, hpu_metric) (increase(`+hpu("hpu_readings_rejected_total")+`[$__rate_interval]))`, deviceLegend+" {{hpu_metric}}")},
		}, bars),
		timeSeries(spec{title: "ECC errors", unit: "none", noValue: "0", min: ptr(0.0), dec: ptr(0.0),
			desc: "Does any HPU's memory produce ECC errors? New errors per interval, by device and type: corrected " +
				"(single-bit: a warning, and a failing HBM when they grow) and uncorrected (double-bit: data was lost).",
			queries: []query{prom(`max by (instance, hpu_index, hpu_ecc_error_type) (increase(`+hpu("hpu_ecc_errors_total", `hpu_ecc_counter="volatile"`)+`[$__rate_interval]))`,
				deviceLegend+" {{hpu_ecc_error_type}}")},
		}, bars),
		tablePanel(spec{title: "ECC errors over each HPU's life", unit: "none",
			desc: "Which HPUs have a history of memory errors, for an RMA? The device's lifetime (aggregate) ECC counts, in " +
				"all its memories and in its HBM; any uncorrected error is red.",
			queries: []query{
				promTable(`max by (instance, hpu_index) (` + hpu("hpu_ecc_errors_total", `hpu_ecc_counter="aggregate"`, `hpu_ecc_error_type="corrected"`) + `)`),
				promTable(`max by (instance, hpu_index) (` + hpu("hpu_ecc_errors_total", `hpu_ecc_counter="aggregate"`, `hpu_ecc_error_type="uncorrected"`) + `)`),
				promTable(`max by (instance, hpu_index) (` + hpu("hpu_ecc_errors_dram_total", `hpu_ecc_counter="aggregate"`, `hpu_ecc_error_type="corrected"`) + `)`),
				promTable(`max by (instance, hpu_index) (` + hpu("hpu_ecc_errors_dram_total", `hpu_ecc_counter="aggregate"`, `hpu_ecc_error_type="uncorrected"`) + `)`),
			},
			xforms: mergeTable(map[string]string{
				"instance": "Host", "hpu_index": "HPU", "Value #A": "Corrected", "Value #B": "Uncorrected",
				"Value #C": "HBM corrected", "Value #D": "HBM uncorrected",
			}, nil),
			overrides: []override{
				column("Uncorrected", "none", thresholds("green", step{1, "red"})),
				column("HBM uncorrected", "none", thresholds("green", step{1, "red"})),
			},
		}, "Uncorrected", true),
	}
}

func hpuInterconnect() []panel {
	return []panel{
		barGauge(spec{title: "NIC links up per HPU", unit: "none", min: ptr(0.0), max: ptr(24.0),
			desc:    "Are all 24 NIC ports of each HPU linked (scale-up and scale-out)? Ports with a link now, per device.",
			th:      thresholds("red", step{24, "green"}),
			alerts:  []string{"HPUNICLinkDown"},
			queries: []query{promNow(`sum by (instance, hpu_index) (max by (instance, hpu_index, hpu_nic_port) (`+hpu("hpu_nic_link_up")+`))`, deviceLegend)},
		}),
		timeSeries(spec{title: "NIC links down over time", unit: "none", min: ptr(0.0), dec: ptr(0.0),
			desc:    "When did NIC links go down, and on internal (scale-up) or external (scale-out) ports? Ports without a link per device and port type.",
			th:      thresholds("green", step{1, "red"}),
			alerts:  []string{"HPUNICLinkDown"},
			queries: []query{prom(`sum by (instance, hpu_index, hpu_nic_port_type) (1 - max by (instance, hpu_index, hpu_nic_port, hpu_nic_port_type) (`+hpu("hpu_nic_link_up")+`))`, deviceLegend+" {{hpu_nic_port_type}}")},
		}, thresholdLines),
		timeSeries(spec{title: "PCIe throughput", unit: "Bps",
			desc:      "How much does each HPU move over PCIe, host to device (receive, up) and device to host (transmit, down)?",
			overrides: []override{belowZero(".* transmit")},
			queries:   []query{prom(`max by (instance, hpu_index, hpu_pcie_direction) (`+hpu("hpu_pcie_throughput_bytes_per_second")+`)`, deviceLegend+" {{hpu_pcie_direction}}")},
		}),
		timeSeries(spec{title: "PCIe replays", unit: "cps", w: 6, min: ptr(0.0),
			desc:    "Does any HPU's PCIe link retransmit? Replays per second; a steady rate means a bad link or riser.",
			th:      thresholds("green", step{1, "red"}),
			queries: []query{prom(perDevice(`rate(`+hpu("hpu_pcie_replays_total")+`[$__rate_interval])`), deviceLegend)},
		}),
		tablePanel(spec{title: "PCIe link per HPU", unit: "none", w: 6,
			desc: "Did any HPU's PCIe link train below Gen 4 x16? Current link generation and width per device.",
			queries: []query{
				promTable(perDevice(hpu("hpu_pcie_link_generation"))),
				promTable(perDevice(hpu("hpu_pcie_link_width"))),
			},
			xforms: mergeTable(map[string]string{"instance": "Host", "hpu_index": "HPU", "Value #A": "Gen", "Value #B": "Width"}, nil),
			overrides: []override{
				column("Gen", "none", thresholds("red", step{4, "green"})),
				column("Width", "none", thresholds("red", step{16, "green"})),
			},
		}, "Width", false),
		timeSeries(spec{title: "NIC traffic", unit: "Bps",
			desc: "How much does each HPU send and receive on its NIC ports (by default its scale-out ports), received up and " +
				"transmitted down? The rate of hpu_nic_io_bytes_total per device.",
			overrides: []override{belowZero(".* transmit")},
			queries: []query{prom(`sum by (instance, hpu_index, hpu_nic_direction) (rate(`+hpu("hpu_nic_io_bytes_total")+`[$__rate_interval]))`,
				deviceLegend+" {{hpu_nic_direction}}")},
		}),
		timeSeries(spec{title: "NIC errors and drops", unit: "pps", noValue: "0", min: ptr(0.0),
			desc: "Does any NIC port lose frames? Frames received or sent with errors, and dropped, per second and port.",
			th:   thresholds("green", step{1, "red"}),
			queries: []query{
				prom(`sum by (instance, hpu_index, hpu_nic_port) (rate(`+hpu("hpu_nic_errors_total")+`[$__rate_interval]))`, deviceLegend+" port {{hpu_nic_port}} errors"),
				prom(`sum by (instance, hpu_index, hpu_nic_port) (rate(`+hpu("hpu_nic_dropped_total")+`[$__rate_interval]))`, deviceLegend+" port {{hpu_nic_port}} drops"),
			},
		}),
	}
}

func hpuInventory() []panel {
	return []panel{
		tablePanel(spec{title: "Device inventory", unit: "none", w: 16,
			desc: "Which device is where, and what runs on it? Model, serial, module (OAM slot), PCI bus id, driver and " +
				"firmware per host and HPU, from hpu_info, with the pod, container or Slurm job that holds the device when " +
				"the hpu_job processor knows it.",
			queries: []query{promTable(`max by (instance, hpu_index, hpu_uuid, hpu_model, hpu_serial, hpu_module_id, hpu_pci_bus_id, hpu_driver_version, hpu_firmware_version, k8s_namespace_name, k8s_pod_name, k8s_container_name, slurm_job_id) (` + hpu("hpu_info") + `)`)},
			xforms: mergeTable(map[string]string{
				"instance": "Host", "hpu_index": "HPU", "hpu_uuid": "UUID", "hpu_model": "Model", "hpu_serial": "Serial",
				"hpu_module_id": "Module", "hpu_pci_bus_id": "PCI bus", "hpu_driver_version": "Driver", "hpu_firmware_version": "Firmware",
				"k8s_namespace_name": "Namespace", "k8s_pod_name": "Pod", "k8s_container_name": "Container", "slurm_job_id": "Slurm job",
			}, []string{"Value"}),
		}, "Host", false),
		barGauge(spec{title: "HPUs per driver and firmware version", unit: "none", w: 8,
			desc:    "Is the fleet on one driver and firmware, or is a rollout half done? Devices per version pair.",
			th:      thresholds("blue"),
			queries: []query{promNow(`count by (hpu_driver_version, hpu_firmware_version) (max by (instance, hpu_index, hpu_driver_version, hpu_firmware_version) (`+hpu("hpu_info")+`))`, "driver {{hpu_driver_version}}, firmware {{hpu_firmware_version}}")},
		}),
	}
}
