#!/bin/sh
# Slurm TaskProlog: registers this task's prometheus_client endpoint with the otelcol-gaudi collector on
# its node, for jobs instrumented as the original design does (start_http_server, Gauge, Counter).
#
# Writes one Prometheus file_sd entry for the task into $OTELCOL_GAUDI_TARGETS_DIR (default
# /run/otelcol-gaudi/targets), which configs/training-scrape.yaml watches: the target 127.0.0.1:<port>
# with the task's identity as labels (training_job_id, training_rank, training_local_rank,
# training_world_size, hpu_module_id, host_name, and job from the job name). The collector turns them
# into the training contract's resource attributes (docs/prometheus-client-jobs.md).
#
# The port is $TRAINING_METRICS_PORT if set, else 9200 + SLURM_LOCALID; the prolog prints
# "export TRAINING_METRICS_PORT=<port>", which Slurm sets in the task's environment, so the training
# script serves where the collector looks (examples/prometheus-client/train.py reads it).
#
# Install (slurm.conf): TaskProlog=/usr/libexec/otelcol-gaudi/otelcol-gaudi-task-prolog.sh and
# TaskEpilog=/usr/libexec/otelcol-gaudi/otelcol-gaudi-task-epilog.sh. Task prologs run as the job's
# user, so the directory must be writable by every user and sticky, as /tmp is:
#   install -d -m 1777 /run/otelcol-gaudi/targets
# Monitoring never fails a task: on unusable input the prolog says why on stderr and registers nothing.
set -u

dir=${OTELCOL_GAUDI_TARGETS_DIR:-/run/otelcol-gaudi/targets}

skip() {
	echo "otelcol-gaudi task prolog: $*; this task's metrics are not registered" >&2
	exit 0
}

# digits NAME VALUE: VALUE must be a non-negative decimal integer.
digits() {
	case $2 in
	'' | *[!0-9]*) skip "$1 is '$2', not a number" ;;
	esac
}

# json STRING: STRING as a JSON string body: backslash and quote escaped, control characters removed.
json() {
	printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

job_id=${SLURM_JOB_ID:-}
rank=${SLURM_PROCID:-}
local_rank=${SLURM_LOCALID:-}
world_size=${SLURM_NTASKS:-}
digits SLURM_JOB_ID "$job_id"
digits SLURM_PROCID "$rank"
digits SLURM_LOCALID "$local_rank"
[ -z "$world_size" ] || digits SLURM_NTASKS "$world_size"
port=${TRAINING_METRICS_PORT:-$((9200 + local_rank))}
digits TRAINING_METRICS_PORT "$port"
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || skip "port $port is out of range"

# HABANA_VISIBLE_MODULES lists the modules the job may use; local rank i uses the i-th.
module=
if [ -n "${HABANA_VISIBLE_MODULES:-}" ]; then
	module=$(printf '%s\n' "$HABANA_VISIBLE_MODULES" | tr ',' '\n' | sed -n "$((local_rank + 1))p")
	case $module in
	'' | *[!0-9]*) skip "HABANA_VISIBLE_MODULES '$HABANA_VISIBLE_MODULES' has no module for local rank $local_rank" ;;
	esac
fi

# The step tells concurrent steps of one job apart in the file name only: letters, digits, _ and -.
step=$(printf '%s' "${SLURM_STEP_ID:-0}" | tr -c 'A-Za-z0-9_-' '_')
host=$(hostname)

labels="\"training_job_id\": \"$job_id\", \"training_rank\": \"$rank\", \"training_local_rank\": \"$local_rank\""
[ -z "$world_size" ] || labels="$labels, \"training_world_size\": \"$world_size\""
[ -z "$module" ] || labels="$labels, \"hpu_module_id\": \"$module\""
[ -z "$host" ] || labels="$labels, \"host_name\": \"$(json "$host")\""
[ -z "${SLURM_JOB_NAME:-}" ] || labels="$labels, \"job\": \"$(json "$SLURM_JOB_NAME")\""

file="$dir/$job_id.$step.$rank.json"
# Written aside and renamed: the collector's file discovery never reads a half-written file.
tmp="$dir/.$job_id.$step.$rank.json.$$"
if ! printf '[{"targets": ["127.0.0.1:%s"], "labels": {%s}}]\n' "$port" "$labels" >"$tmp" 2>/dev/null ||
	! chmod 0644 "$tmp" || ! mv -f "$tmp" "$file"; then
	rm -f "$tmp"
	skip "cannot write $file (does $dir exist, writable and sticky?)"
fi
echo "export TRAINING_METRICS_PORT=$port"
