package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// train is a selector of a training metric on the selected jobs, ranks and hosts.
func train(metric string, matchers ...string) string {
	return sel(metric, append([]string{onJob, onRank, onHost}, matchers...)...)
}

// wholeJob is a selector over all ranks of the selected jobs: stragglers and stalls compare a rank with the
// job's others, so they ignore the rank variable.
func wholeJob(metric string) string { return sel(metric, onJob, onHost) }

// perRank is one series per rank.
func perRank(expr string) string { return "max by (" + byRank + ") (" + expr + ")" }

// jobMean is the mean over the selected ranks of each job.
func jobMean(metric string) string { return "avg by (training_job_id) (" + train(metric) + ")" }

const rankLegend = "{{training_job_id}} rank {{training_rank}}"

// The stall queries mirror the two parts of the TrainingStalled rule: a rank whose samples counter did not
// advance in 5 minutes, and a rank seen in the last hour that no longer reports at all. Silence goes first:
// for 5 minutes after a rank goes silent its counter still has an increase, which must not hide it.
var (
	progress5m = perRank(`increase(` + wholeJob("training_samples_total") + `[5m])`)
	silent     = `(` + perRank(`last_over_time(`+wholeJob("training_samples_total")+`[1h])`) + ` unless ` + perRank(wholeJob("training_samples_total")) + `)`
)

// tokensPerRank is each rank's tokens per second: the rate of its training_tokens_total or, for a rank that
// has no such counter (prometheus_client jobs as the original design writes them report only
// TrainingMonitor's training_tokens_per_second), the throughput it reports.
func tokensPerRank() string {
	return `sum by (` + byRank + `) (rate(` + train("training_tokens_total") + `[$__rate_interval])) or sum by (` +
		byRank + `) (` + train("training_tokens_throughput_per_second") + `)`
}

const tokensFallback = "From each rank's tokens counter; a rank without one (a prometheus_client job's) adds the " +
	"throughput it reports instead, TrainingMonitor's average since the epoch started."

// stragglerRatio is the slowest rank's mean batch time over the median rank's, per job.
func stragglerRatio() string {
	mean := `avg_over_time(` + wholeJob("training_batch_duration_seconds") + `[$__rate_interval])`
	return `max by (training_job_id) (` + mean + `) / quantile by (training_job_id) (0.5, ` + mean + `)`
}

func trainingBoard() board {
	return board{
		file:  "training-performance",
		uid:   uidTraining,
		title: titles[uidTraining],
		description: "Training jobs as their ranks report them: loss and accuracy, throughput per job and rank, where a " +
			"batch's time goes, the slowest rank against the median, stalled ranks, and the HPUs each rank runs on.",
		tags:    []string{"otelcol-gaudi", "gaudi", "training"},
		from:    "now-6h",
		refresh: "30s",
		vars:    []variable{promVar(), lokiVar(), hostVar("training_samples_total"), jobVar(), rankVar()},
		annotations: []cog.Builder[dashboard.AnnotationQuery]{
			firingAlerts("Firing alerts of the jobs", `ALERTS{alertstate="firing", training_job_id=~"$job", training_job_id!="", instance=~"$host"}`),
		},
		rows: []row{
			{title: "Jobs at a glance", panels: trainingStats()},
			{title: "Loss and accuracy", panels: trainingQuality()},
			{title: "Throughput", panels: trainingThroughput()},
			{title: "Step time", panels: trainingStepTime()},
			{title: "Stragglers and stalls", panels: trainingStragglers()},
			{title: "The jobs' HPUs", panels: trainingHPUs()},
			{title: "Job logs", collapsed: true, panels: trainingLogs()},
		},
	}
}

func trainingStats() []panel {
	return []panel{
		singleStat(spec{title: "Ranks reporting", unit: "none", noValue: "0",
			desc:    "How many ranks of the selected jobs report metrics now?",
			th:      thresholds("blue"),
			queries: []query{prom(`count(`+perRank(wholeJob("training_samples_total"))+`)`, "")}}),
		singleStat(spec{title: "Samples per second", unit: "short",
			desc:    "How fast do the selected ranks train together, in samples per second?",
			th:      thresholds("blue"),
			queries: []query{prom(`sum(rate(`+train("training_samples_total")+`[$__rate_interval]))`, "")}}),
		singleStat(spec{title: "Tokens per second", unit: "short",
			desc:    "How fast do the selected ranks train together, in tokens per second? " + tokensFallback,
			th:      thresholds("blue"),
			queries: []query{prom(`sum(`+tokensPerRank()+`)`, "")}}),
		singleStat(spec{title: "Stalled ranks", unit: "none", noValue: "0",
			desc: "How many ranks made no progress in the last 5 minutes or stopped reporting within the hour? " +
				"0 when all ranks progress.",
			th:      thresholds("green", step{1, "red"}),
			alerts:  []string{"TrainingStalled"},
			queries: []query{prom(`sum((`+silent+` * 0 + 1) or (`+progress5m+` == bool 0))`, "")}}),
		singleStat(spec{title: "Straggler ratio (slowest / median)", unit: "none", dec: ptr(2.0),
			desc: "How much slower than the median rank is the slowest one? Mean batch time of the slowest rank over the " +
				"median rank's, worst job; 1 is perfectly even.",
			th:      thresholds("green", step{1.2, "orange"}, step{1.5, "red"}),
			queries: []query{prom(`max(`+stragglerRatio()+`)`, "")}}),
		singleStat(spec{title: "Slowest batch time", unit: "s",
			desc:    "What is the longest last-batch time among the selected ranks? SlowBatchProcessing fires above 10 s.",
			th:      thresholds("green", step{5, "orange"}, step{10, "red"}),
			alerts:  []string{"SlowBatchProcessing"},
			queries: []query{prom(`max(`+train("training_batch_duration_seconds")+`)`, "")}}),
	}
}

func trainingQuality() []panel {
	return []panel{
		timeSeries(spec{title: "Loss: training and validation", unit: "none",
			desc:      "Is the model learning, and does validation follow? Mean loss over the selected ranks per job; validation dashed.",
			overrides: []override{dashedValidation()},
			queries: []query{
				prom(jobMean("training_loss"), "{{training_job_id}} training"),
				prom(jobMean("validation_loss"), "{{training_job_id}} validation"),
			},
		}),
		timeSeries(spec{title: "Accuracy: training and validation", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:      "Does accuracy rise, on training and on validation data? Mean over the selected ranks per job; validation dashed.",
			overrides: []override{dashedValidation()},
			queries: []query{
				prom(jobMean("training_accuracy_ratio"), "{{training_job_id}} training"),
				prom(jobMean("validation_accuracy_ratio"), "{{training_job_id}} validation"),
			},
		}),
		timeSeries(spec{title: "Training loss per rank", unit: "none",
			desc:    "Does one rank's loss diverge from the others (bad data shard, NaNs, a faulty device)?",
			queries: []query{prom(perRank(train("training_loss")), rankLegend)},
		}),
		timeSeries(spec{title: "Generalization gap (validation minus training loss)", unit: "none",
			desc:    "Is the job starting to overfit? Validation loss minus training loss per job; a growing gap is overfitting.",
			queries: []query{prom(jobMean("validation_loss")+` - `+jobMean("training_loss"), "{{training_job_id}}")},
		}),
	}
}

// dashedValidation draws the validation series dashed, in the same panel as the training ones.
func dashedValidation() override {
	o := dashedSeries(".* validation")
	o.props = o.props[:2] // keep the series' own color
	return o
}

func trainingThroughput() []panel {
	return []panel{
		timeSeries(spec{title: "Samples per second per job", unit: "short", min: ptr(0.0),
			desc:    "How fast does each job train? Samples per second summed over the selected ranks.",
			queries: []query{prom(`sum by (training_job_id) (rate(`+train("training_samples_total")+`[$__rate_interval]))`, "{{training_job_id}}")},
		}),
		timeSeries(spec{title: "Tokens per second per job", unit: "short", min: ptr(0.0),
			desc:    "How many tokens per second does each job process, summed over the selected ranks? " + tokensFallback,
			queries: []query{prom(`sum by (training_job_id) (`+tokensPerRank()+`)`, "{{training_job_id}}")},
		}),
		timeSeries(spec{title: "Samples per second per rank", unit: "short", min: ptr(0.0),
			desc:    "Which rank is slower than the others? Samples per second per rank, from its samples counter.",
			queries: []query{prom(perRank(`rate(`+train("training_samples_total")+`[$__rate_interval])`), rankLegend)},
		}, legendTable),
		timeSeries(spec{title: "Last-batch throughput per rank, as reported", unit: "short", min: ptr(0.0),
			desc: "What does each rank report for its last batch: samples per second (left axis) and tokens per second (right)? " +
				"0 while the rank is stalled. Ranks scraped from prometheus_client report TrainingMonitor's figures instead: " +
				"averages since the epoch started, which keep their last value, not 0, when the rank stalls.",
			overrides: []override{{regex: ".* tokens/s", props: []dashboard.DynamicConfigValue{
				{Id: "custom.axisPlacement", Value: "right"},
				{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			}}},
			queries: []query{
				prom(perRank(train("training_samples_throughput_per_second")), rankLegend+" samples/s"),
				prom(perRank(train("training_tokens_throughput_per_second")), rankLegend+" tokens/s"),
			},
		}),
	}
}

func trainingStepTime() []panel {
	phase := func(title, metric, what string) panel {
		return timeSeries(spec{title: title, unit: "s", w: 8, min: ptr(0.0),
			desc:    "Is one rank's " + what + " slower than the others'? Per rank, last batch.",
			queries: []query{prom(perRank(train(metric)), rankLegend)},
		})
	}
	return []panel{
		timeSeries(spec{title: "Batch time per rank", unit: "s", min: ptr(0.0),
			desc:    "How long does each rank take per batch, data loading included? The dashed line is the 10 s of SlowBatchProcessing.",
			th:      thresholds("green", step{10, "red"}),
			alerts:  []string{"SlowBatchProcessing"},
			queries: []query{prom(perRank(train("training_batch_duration_seconds")), rankLegend)},
		}, thresholdLines, legendTable),
		timeSeries(spec{title: "Where a batch's time goes", unit: "s", min: ptr(0.0),
			desc: "Which phase dominates a batch: forward, backward, optimizer step, or the rest (data loading, " +
				"communication, host overhead)? Means over the selected ranks per job, stacked up to the batch time.",
			queries: []query{
				prom(jobMean("training_forward_duration_seconds"), "{{training_job_id}} forward"),
				prom(jobMean("training_backward_duration_seconds"), "{{training_job_id}} backward"),
				prom(jobMean("training_optimizer_step_duration_seconds"), "{{training_job_id}} optimizer step"),
				prom(jobMean("training_batch_duration_seconds")+` - `+jobMean("training_forward_duration_seconds")+
					` - `+jobMean("training_backward_duration_seconds")+` - `+jobMean("training_optimizer_step_duration_seconds"),
					"{{training_job_id}} other (data, communication)"),
			},
		}, stacked),
		phase("Forward pass per rank", "training_forward_duration_seconds", "forward pass"),
		phase("Backward pass per rank", "training_backward_duration_seconds", "backward pass"),
		phase("Optimizer step per rank", "training_optimizer_step_duration_seconds", "optimizer step"),
	}
}

func trainingStragglers() []panel {
	mean := `avg_over_time(` + wholeJob("training_batch_duration_seconds") + `[$__rate_interval])`
	return []panel{
		timeSeries(spec{title: "Straggler ratio per job", unit: "none", dec: ptr(2.0), min: ptr(1.0),
			desc: "Does one rank hold the job back? Mean batch time of the slowest rank over the median rank's, per job: in " +
				"synchronous data parallelism every rank waits for the slowest. Dashed lines at 1.2 and 1.5.",
			th:      thresholds("green", step{1.2, "orange"}, step{1.5, "red"}),
			queries: []query{prom(stragglerRatio(), "{{training_job_id}}")},
		}, thresholdLines),
		timeSeries(spec{title: "Batch time relative to the job's median, per rank", unit: "none", dec: ptr(2.0),
			desc:    "Which rank is the straggler? Each rank's mean batch time over its job's median rank's; 1 is the median.",
			th:      thresholds("green", step{1.2, "orange"}, step{1.5, "red"}),
			queries: []query{prom(perRank(mean+` / on (training_job_id) group_left () quantile by (training_job_id) (0.5, `+mean+`)`), rankLegend)},
		}, thresholdLines, legendTable),
		timeSeries(spec{title: "Samples per rank in the last 5 minutes", unit: "short", min: ptr(0.0),
			desc: "Does every rank still make progress? Samples each rank processed in the last 5 minutes, the window of " +
				"TrainingStalled: 0 is a stalled rank. Shows every rank, stalled or not.",
			th:      thresholds("red", step{1, "green"}),
			alerts:  []string{"TrainingStalled"},
			queries: []query{prom(progress5m, rankLegend)},
		}),
		stateTimeline(spec{title: "Rank progress", unit: "none",
			desc: "When did which rank stall or go silent? Per rank: progressing (samples in the last 5 minutes), stalled " +
				"(reporting, no progress) or silent (reported within the hour, no longer reports), as TrainingStalled sees it.",
			maps: states(
				mapping{"1", "progressing", "green"},
				mapping{"0", "stalled", "red"},
				mapping{"-1", "silent", "dark-red"}),
			alerts:  []string{"TrainingStalled"},
			queries: []query{prom(`(`+silent+` * 0 - 1) or (`+progress5m+` > bool 0)`, rankLegend)},
		}),
	}
}

func trainingHPUs() []panel {
	// The HPU series of a rank's device carry its training_job_id and training_rank (hpu_job processor).
	dev := func(metric string, matchers ...string) string {
		return sel(metric, append([]string{onJob, inJob, onRank, onHost}, matchers...)...)
	}
	byDev := func(expr string) string {
		return "max by (training_job_id, training_rank, instance, hpu_index) (" + expr + ")"
	}
	legend := rankLegend + " (HPU {{hpu_index}})"
	toHPU := []cog.Builder[dashboard.DashboardLink]{panelLink("HPU Monitoring", uidHPU, "host", "job")}
	return []panel{
		timeSeries(spec{title: "HPU utilization of the jobs' devices", unit: "percent", min: ptr(0.0), max: ptr(100.0),
			desc:    "Do the ranks keep their HPUs busy? Utilization of the device each rank uses; the dashed line is the 20 % of HPULowUtilization.",
			th:      thresholds("red", step{20, "green"}),
			alerts:  []string{"HPULowUtilization"},
			links:   toHPU,
			queries: []query{prom(byDev(dev("hpu_utilization_percent")), legend)},
		}, thresholdLines),
		timeSeries(spec{title: "HBM used by the jobs' devices", unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			desc:    "Is a rank close to running out of HBM? Used over total memory of each rank's device; dashed at the 90 % of HighMemoryUsage.",
			th:      thresholds("green", step{0.9, "red"}),
			alerts:  []string{"HighMemoryUsage"},
			links:   toHPU,
			queries: []query{prom(byDev(dev("hpu_memory_used_bytes")+` / `+dev("hpu_memory_total_bytes")), legend)},
		}, thresholdLines),
		timeSeries(spec{title: "Chip temperature of the jobs' devices", unit: "celsius",
			desc:    "Is a rank slow because its HPU runs hot? On-chip temperature of each rank's device; dashed at the 85 °C of HPUHighTemperature.",
			th:      thresholds("green", step{85, "red"}),
			alerts:  []string{"HPUHighTemperature"},
			links:   toHPU,
			queries: []query{prom(byDev(dev("hpu_temperature_celsius", `hpu_sensor="on_chip"`)), legend)},
		}, thresholdLines),
		stateTimeline(spec{title: "Clock throttling on the jobs' devices", unit: "none",
			desc:    "Is a rank slow because its HPU throttles its clocks, and why (power, thermal)?",
			maps:    states(mapping{"0", "not throttled", "green"}, mapping{"1", "throttled", "red"}),
			alerts:  []string{"HPUClockThrottling"},
			links:   toHPU,
			queries: []query{prom(`max by (training_job_id, training_rank, hpu_throttle_reason) (`+dev("hpu_clock_throttle_active")+`)`, rankLegend+" {{hpu_throttle_reason}}")},
		}),
	}
}

// The jobs' log records in Loki: service_name is the job's service.name (an index label); training_job_id,
// training_rank and severity_text are structured metadata, filtered after the selector.
const jobLogs = `{service_name=~".+"} | training_job_id=~"$job" | training_rank=~"$rank"`

func trainingLogs() []panel {
	return []panel{
		timeSeries(spec{title: "Job log records by severity", unit: "short", h: 6, w: 24,
			desc:    "When did the jobs log warnings and errors? Log records per interval by severity, from Loki.",
			queries: []query{logQL(`sum by (severity_text) (count_over_time(`+jobLogs+` [$__interval]))`, "{{severity_text}}")},
		}, bars, stacked),
		logsPanel(spec{title: "Job warnings and errors",
			desc:    "What did the ranks report when things went wrong? WARNING, ERROR and CRITICAL records of the selected jobs and ranks, newest first.",
			queries: []query{logQL(jobLogs+` | severity_text=~"(?i)warn.*|error|critical|fatal"`, "")},
		}),
	}
}
