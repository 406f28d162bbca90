#!/bin/sh
# otelcol-gaudi: the user joins the groups that own the Gaudi device nodes, so HLML and hl-smi can open
# them without root; then systemd picks up the unit, enables it on a first install and restarts it on an
# upgrade. Without systemd as PID 1 (containers, chroots) only the group part runs.
set -e
for dev in /dev/accel/* /dev/hl*; do
  [ -c "$dev" ] || continue
  group=$(stat -c %G "$dev")
  [ "$group" = root ] && continue
  usermod -a -G "$group" otelcol-gaudi
done
# /run/otelcol-gaudi/targets for the Slurm task prologs, now rather than at the next boot.
if command -v systemd-tmpfiles >/dev/null; then
  systemd-tmpfiles --create otelcol-gaudi.conf || true
fi
# deb: configure <old version> on upgrade, configure alone on install; rpm: 1 on install, 2 on upgrade.
upgrade=
case "$1" in
  configure) [ -n "$2" ] && upgrade=1 ;;
  [2-9]) upgrade=1 ;;
esac
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ -n "$upgrade" ]; then
    systemctl try-restart otelcol-gaudi.service
  else
    systemctl enable --now otelcol-gaudi.service
  fi
fi
exit 0
