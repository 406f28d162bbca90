#!/bin/sh
# Slurm Prolog for otelcol-gaudi: records which job holds which HPU, so that the collector's hpu_job processor
# puts slurm.job.id (and slurm.job.user, slurm.job.partition) on the series of those HPUs. See docs/slurm.md.
#
# Install as (or call from) slurmd's Prolog on every Gaudi node; the Epilog is otelcol-gaudi-epilog.sh. For each
# HPU of the job it writes one file named by the HPU's module id (what HABANA_VISIBLE_MODULES lists):
#
#   /var/run/otelcol-gaudi/slurm-jobs/<module id>:
#     SLURM_JOB_ID=4242
#     SLURM_JOB_USER=alice
#     SLURM_JOB_PARTITION=gaudi3
#
# The job's HPUs are, in this order of preference:
#   OTELCOL_GAUDI_HPU_MODULES  module ids, comma-separated (set it in a wrapper if your site allocates HPUs
#                              some other way);
#   SLURM_JOB_GPUS             the job's GRES gpu indexes, which are the accel indexes when gres.conf lists
#                              File=/dev/accel/accel[0-7] in order; each is mapped to its module id through
#                              /sys/class/accel/accel<index>/device/module_id.
# OTELCOL_GAUDI_SLURM_DIR overrides the directory (the collector's hpu_job slurm.job_mapping_dir),
# OTELCOL_GAUDI_SYSFS the sysfs root.
#
# A failing Prolog drains the node, so this script never fails: problems are reported on stderr (slurmd's
# log) and the job runs unattributed.

dir=${OTELCOL_GAUDI_SLURM_DIR:-/var/run/otelcol-gaudi/slurm-jobs}
sysfs=${OTELCOL_GAUDI_SYSFS:-/sys}
job=${SLURM_JOB_ID:-}

warn() { echo "otelcol-gaudi prolog: $*" >&2; }

case $job in
'' | *[!0-9_+]*) warn "SLURM_JOB_ID '$job' is not a job id; nothing recorded"; exit 0 ;;
esac

if [ -n "${OTELCOL_GAUDI_HPU_MODULES:-}" ]; then
	modules=$(echo "$OTELCOL_GAUDI_HPU_MODULES" | tr ',' ' ')
else
	modules=
	for index in $(echo "${SLURM_JOB_GPUS:-}" | tr ',' ' '); do
		case $index in '' | *[!0-9]*) warn "SLURM_JOB_GPUS entry '$index' is not an index"; continue ;; esac
		if module=$(cat "$sysfs/class/accel/accel$index/device/module_id" 2>/dev/null); then
			modules="$modules $module"
		else
			warn "no module id for accel$index in $sysfs; HPU not recorded"
		fi
	done
fi
[ -n "$modules" ] || exit 0

mkdir -p "$dir" 2>/dev/null && chmod 0755 "$dir" 2>/dev/null
for module in $modules; do
	case $module in '' | *[!0-9]*) warn "module id '$module' is not a number"; continue ;; esac
	# Written aside, then renamed: the collector never reads a half-written file.
	tmp="$dir/.$module.$job.tmp"
	if printf 'SLURM_JOB_ID=%s\nSLURM_JOB_USER=%s\nSLURM_JOB_PARTITION=%s\n' \
		"$job" "${SLURM_JOB_USER:-}" "${SLURM_JOB_PARTITION:-}" >"$tmp" 2>/dev/null &&
		chmod 0644 "$tmp" && mv -f "$tmp" "$dir/$module"; then
		:
	else
		rm -f "$tmp"
		warn "cannot write $dir/$module"
	fi
done
exit 0
