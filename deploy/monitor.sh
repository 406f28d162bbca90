#!/usr/bin/env bash
# The monitoring stack without Docker (`make monitor-up`, `make monitor-down`): the collector on
# configs/demo.yaml, a Prometheus scraping it that evaluates configs/prometheus/rules, and Alertmanager
# on configs/prometheus/alertmanager.yml when its binary is installed, all in the background on 127.0.0.1.
#
#   deploy/monitor.sh up       start the stack; waits until every part is ready, else stops it and fails
#   deploy/monitor.sh down     stop what `up` started (idempotent)
#   deploy/monitor.sh status   what runs, and where to look
#
# State (pid files, logs, the TSDB, Alertmanager's data, the generated Prometheus config) lives in
# MONITOR_DIR (default .monitor/ in the repository). Every port can be moved with an environment variable:
#   MONITOR_PROMETHEUS_PORT (9090)             MONITOR_ALERTMANAGER_PORT (9093)
#   MONITOR_COLLECTOR_METRICS_PORT (8889)      the collector's prometheus exporter, scraped by Prometheus
#   MONITOR_COLLECTOR_TELEMETRY_PORT (8888)    the collector's own telemetry, scraped by Prometheus
#   MONITOR_COLLECTOR_HEALTH_PORT (13133)      health_check
#   MONITOR_HPU_HEALTH_PORT (13134)            hpu_health (/health, /ready)
#   MONITOR_OTLP_GRPC_PORT (4317)              MONITOR_OTLP_HTTP_PORT (4318)
# The collector defaults are configs/demo.yaml's. MONITOR_COLLECTOR_ARGS adds arguments to the collector's
# command line (split on whitespace, e.g. --set=receivers::gaudi::collection_interval=1s). MONITOR_TIMEOUT
# (seconds, default 60) bounds each wait for readiness and for a stop. Binaries: OTELCOL_GAUDI_BIN (default
# bin/otelcol-gaudi, from `make build`), PROMETHEUS_BIN (prometheus), ALERTMANAGER_BIN (alertmanager, or
# Debian's prometheus-alertmanager; none found: no Alertmanager).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${MONITOR_DIR:-$repo/.monitor}
timeout=${MONITOR_TIMEOUT:-60}
prometheus_port=${MONITOR_PROMETHEUS_PORT:-9090}
alertmanager_port=${MONITOR_ALERTMANAGER_PORT:-9093}
metrics_port=${MONITOR_COLLECTOR_METRICS_PORT:-8889}
telemetry_port=${MONITOR_COLLECTOR_TELEMETRY_PORT:-8888}
health_port=${MONITOR_COLLECTOR_HEALTH_PORT:-13133}
hpu_health_port=${MONITOR_HPU_HEALTH_PORT:-13134}
otlp_grpc_port=${MONITOR_OTLP_GRPC_PORT:-4317}
otlp_http_port=${MONITOR_OTLP_HTTP_PORT:-4318}
read -ra collector_args <<<"${MONITOR_COLLECTOR_ARGS:-}"

# Started in this order, stopped in the reverse one.
components=(otelcol-gaudi alertmanager prometheus)

die() {
	echo "monitor: $*" >&2
	exit 1
}

# proc_field PID N: field N of /proc/PID/stat counted after the command name (1 = state, 20 = start time),
# which may itself contain spaces.
proc_field() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	read -ra fields <<<"$stat"
	echo "${fields[$(($2 - 1))]}"
}

# running NAME: whether the process recorded in NAME's pid file still runs. The pid file holds the pid
# and the process's start time, so a pid reused by an unrelated process does not count (and is never
# signalled); an exited process that nobody has reaped yet (a zombie) does not count either.
running() {
	local pid start now st
	[[ -f $state/$1.pid ]] || return 1
	read -r pid start <"$state/$1.pid"
	now=$(proc_field "$pid" 20) && st=$(proc_field "$pid" 1) || return 1
	[[ -n $start && $now == "$start" && $st != Z ]]
}

pid_of() {
	local pid
	read -r pid _ <"$state/$1.pid"
	echo "$pid"
}

# start NAME COMMAND...: runs COMMAND in the background in a session (so a process group) of its own,
# which outlives this script and the terminal, with its output in NAME.log.
start() {
	local name=$1
	shift
	# fd 9 holds the lock of this script; the stack must not keep it.
	setsid "$@" </dev/null >"$state/$name.log" 2>&1 9>&- &
	local pid=$!
	# Not a job of this script: no "Killed" notice when a failed `up` stops it.
	disown "$pid"
	echo "$pid $(proc_field "$pid" 20)" >"$state/$name.pid"
}

# signal_and_wait NAME SIGNAL: sends SIGNAL to NAME's process group and waits up to MONITOR_TIMEOUT
# seconds for NAME to exit.
signal_and_wait() {
	local pid deadline=$((SECONDS + timeout))
	pid=$(pid_of "$1")
	kill "-$2" -- "-$pid" 2>/dev/null || kill "-$2" "$pid" 2>/dev/null || true
	while running "$1"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# stop NAME: SIGTERM to NAME's process group, SIGKILL after MONITOR_TIMEOUT seconds.
stop() {
	local name=$1 pid
	if ! running "$name"; then
		rm -f "$state/$name.pid"
		return 0
	fi
	pid=$(pid_of "$name")
	if ! signal_and_wait "$name" TERM; then
		echo "monitor: $name (pid $pid) did not stop within ${timeout}s of SIGTERM; killing it" >&2
		signal_and_wait "$name" KILL || die "$name (pid $pid) survived SIGKILL for ${timeout}s"
	fi
	rm -f "$state/$name.pid"
	echo "stopped $name (pid $pid)"
}

stop_all() {
	local i
	for ((i = ${#components[@]} - 1; i >= 0; i--)); do
		stop "${components[i]}"
	done
}

# fail_up MESSAGE: `up` went wrong; stop whatever it started, so that nothing is left half up.
fail_up() {
	echo "monitor: $*" >&2
	stop_all >&2
	exit 1
}

# wait_ready NAME URL: polls URL until it answers 2xx, failing when NAME exits or after MONITOR_TIMEOUT.
wait_ready() {
	local name=$1 url=$2 deadline=$((SECONDS + timeout))
	until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
		if ! running "$name"; then
			fail_up "$name exited before $url answered; the end of $state/$name.log:
$(tail -n 20 "$state/$name.log")"
		fi
		if ((SECONDS >= deadline)); then
			fail_up "$name did not answer $url within ${timeout}s; see $state/$name.log"
		fi
		sleep 0.5
	done
}

find_alertmanager() {
	if [[ -n ${ALERTMANAGER_BIN:-} ]]; then
		command -v "$ALERTMANAGER_BIN" || die "ALERTMANAGER_BIN=$ALERTMANAGER_BIN is not an executable"
	else
		command -v alertmanager || command -v prometheus-alertmanager || true
	fi
}

# prometheus_config DIR: configs/prometheus/prometheus.yml with its scrape and Alertmanager targets moved to
# this stack's ports, written to DIR/prometheus.yml. DIR/rules links to configs/prometheus/rules, so the
# file's relative rule_files load the shipped rules (edit them, then POST /-/reload).
prometheus_config() {
	local dir=$1 shipped=$repo/configs/prometheus/prometheus.yml
	mkdir -p "$dir"
	ln -sfn "$repo/configs/prometheus/rules" "$dir/rules"
	awk -v metrics="127.0.0.1:$metrics_port" -v telemetry="127.0.0.1:$telemetry_port" \
		-v alertmanager="127.0.0.1:$alertmanager_port" '
		function target(name, addr) {
			if (!sub(/\[[^]]*\]/, "[" addr "]")) exit 1
			done[name]++
		}
		/^[^ #]/                            { section = $1; job = "" }
		/^ *- job_name:/                    { job = $3 }
		/^ *- targets:/ && section == "alerting:"                { target("alertmanager", alertmanager) }
		/^ *- targets:/ && job == "otelcol-gaudi"                { target(job, metrics) }
		/^ *- targets:/ && job == "otelcol-gaudi-telemetry"      { target(job, telemetry) }
		{ print }
		END {
			if (done["alertmanager"] != 1 || done["otelcol-gaudi"] != 1 || done["otelcol-gaudi-telemetry"] != 1) exit 1
		}' "$shipped" >"$dir/prometheus.yml" ||
		die "$shipped no longer has exactly one \"- targets: [...]\" line for alerting and for each of the jobs otelcol-gaudi and otelcol-gaudi-telemetry; update prometheus_config in $0"
}

urls() {
	cat <<EOF
  Prometheus       http://127.0.0.1:$prometheus_port  (/targets, /rules, /alerts; rules reload: curl -X POST http://127.0.0.1:$prometheus_port/-/reload)
  Alertmanager     http://127.0.0.1:$alertmanager_port
  collector        http://127.0.0.1:$metrics_port/metrics  (its own telemetry: http://127.0.0.1:$telemetry_port/metrics)
  health           http://127.0.0.1:$health_port/  http://127.0.0.1:$hpu_health_port/health  http://127.0.0.1:$hpu_health_port/ready
  OTLP             127.0.0.1:$otlp_grpc_port (gRPC), 127.0.0.1:$otlp_http_port (HTTP)
  logs             $state/otelcol-gaudi.log  $state/prometheus.log  $state/alertmanager.log
A training job for the Training dashboard, on the simulated HPUs 0-7 (Ctrl-C stops it):
  go run ./cmd/trainsim -endpoint 127.0.0.1:$otlp_grpc_port -ranks 8 -hpu-indexes 0,1,2,3,4,5,6,7
Grafana is not part of this stack; the dashboards need it: deploy/compose.yaml runs the whole stack with
Grafana (Docker), or import dashboards/*.json into a Grafana with a Prometheus data source on
http://127.0.0.1:$prometheus_port.
EOF
}

up() {
	local name collector_bin prometheus_bin alertmanager_bin
	for name in "${components[@]}"; do
		if running "$name"; then
			die "already running ($name, pid $(pid_of "$name"); state in $state); stop it first: make monitor-down"
		fi
		rm -f "$state/$name.pid"
	done

	collector_bin=${OTELCOL_GAUDI_BIN:-$repo/bin/otelcol-gaudi}
	[[ -x $collector_bin ]] || die "$collector_bin is missing; run make build (make monitor-up does)"
	prometheus_bin=$(command -v "${PROMETHEUS_BIN:-prometheus}") ||
		die "prometheus is not installed: apt-get install prometheus (make test-deps does), or set PROMETHEUS_BIN"
	alertmanager_bin=$(find_alertmanager)

	# Shipped configs name their files relative to the repository root, as `make run` starts there.
	cd "$repo"
	start otelcol-gaudi "$collector_bin" --config configs/demo.yaml \
		"--set=extensions::health_check::endpoint=127.0.0.1:$health_port" \
		"--set=extensions::hpu_health::endpoint=127.0.0.1:$hpu_health_port" \
		"--set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:$otlp_grpc_port" \
		"--set=receivers::otlp::protocols::http::endpoint=127.0.0.1:$otlp_http_port" \
		"--set=exporters::prometheus::endpoint=127.0.0.1:$metrics_port" \
		"--set=service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: $telemetry_port}}}}]" \
		"${collector_args[@]}"
	wait_ready otelcol-gaudi "http://127.0.0.1:$health_port/"
	# Ready once a scrape has read the HPUs, so Prometheus' first scrape has them.
	wait_ready otelcol-gaudi "http://127.0.0.1:$hpu_health_port/ready"

	if [[ -n $alertmanager_bin ]]; then
		# No cluster listener: a single Alertmanager, and nothing bound beyond 127.0.0.1.
		start alertmanager "$alertmanager_bin" --config.file=configs/prometheus/alertmanager.yml \
			"--storage.path=$state/alertmanager" "--web.listen-address=127.0.0.1:$alertmanager_port" \
			--cluster.listen-address=
		wait_ready alertmanager "http://127.0.0.1:$alertmanager_port/-/ready"
	fi

	prometheus_config "$state/prometheus"
	start prometheus "$prometheus_bin" "--config.file=$state/prometheus/prometheus.yml" \
		"--storage.tsdb.path=$state/prometheus/data" "--web.listen-address=127.0.0.1:$prometheus_port" \
		--web.enable-lifecycle
	wait_ready prometheus "http://127.0.0.1:$prometheus_port/-/ready"

	echo "The monitoring stack is up (state in $state):"
	urls
	if [[ -z $alertmanager_bin ]]; then
		echo "Alertmanager is not installed (apt-get install prometheus-alertmanager): Prometheus evaluates the"
		echo "rules (its /alerts page) but notifies nobody."
	fi
	echo "Stop it with: make monitor-down"
}

status() {
	local name
	for name in "${components[@]}"; do
		if running "$name"; then
			printf '  %-16s running (pid %s)\n' "$name" "$(pid_of "$name")"
		else
			printf '  %-16s not running\n' "$name"
		fi
	done
	urls
}

case ${1:-} in
up | down | status) ;;
*) die "usage: $0 up|down|status" ;;
esac
mkdir -p "$state"
state=$(cd "$state" && pwd)
if [[ $1 == status ]]; then
	status
	exit
fi
# One `up` or `down` at a time on a state directory.
exec 9>"$state/lock"
flock -n 9 || die "another deploy/monitor.sh up or down is working on $state"
if [[ $1 == up ]]; then
	up
else
	stop_all
	echo "the monitoring stack is stopped (logs and data stay in $state)"
fi
