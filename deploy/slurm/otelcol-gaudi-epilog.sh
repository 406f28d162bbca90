#!/bin/sh
# Slurm Epilog for otelcol-gaudi: removes the job-mapping files otelcol-gaudi-prolog.sh wrote for this job, so that its
# HPUs lose the job's labels at the collector's next read of the directory. See docs/slurm.md.
#
# Only files that name this job are removed, whichever HPUs they are for: a file another job's prolog already
# rewrote stays. OTELCOL_GAUDI_SLURM_DIR overrides the directory. Never fails (a failing Epilog drains the node).

dir=${OTELCOL_GAUDI_SLURM_DIR:-/var/run/otelcol-gaudi/slurm-jobs}
job=${SLURM_JOB_ID:-}

[ -n "$job" ] && [ -d "$dir" ] || exit 0
for f in "$dir"/*; do
	case ${f##*/} in '' | *[!0-9]*) continue ;; esac
	[ -f "$f" ] || continue
	if grep -qxF -e "SLURM_JOB_ID=$job" -e "$job" "$f" 2>/dev/null; then
		rm -f "$f" || echo "otelcol-gaudi epilog: cannot remove $f" >&2
	fi
done
exit 0
