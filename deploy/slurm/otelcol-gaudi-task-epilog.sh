#!/bin/sh
# Slurm TaskEpilog (and Epilog): removes what otelcol-gaudi-task-prolog.sh registered, so the collector
# stops scraping the task. As TaskEpilog it removes this task's entry; as the node's Epilog (run as root
# at the end of the job, without SLURM_PROCID) it removes every entry of the job, also those of tasks
# that were killed before their TaskEpilog ran.
set -u
dir=${OTELCOL_GAUDI_TARGETS_DIR:-/run/otelcol-gaudi/targets}
job_id=${SLURM_JOB_ID:-}
case $job_id in
'' | *[!0-9]*) exit 0 ;;
esac
if [ -n "${SLURM_PROCID:-}" ]; then
	case $SLURM_PROCID in
	*[!0-9]*) exit 0 ;;
	esac
	step=$(printf '%s' "${SLURM_STEP_ID:-0}" | tr -c 'A-Za-z0-9_-' '_')
	rm -f "$dir/$job_id.$step.$SLURM_PROCID.json"
else
	rm -f "$dir/$job_id".*.json
fi
exit 0
