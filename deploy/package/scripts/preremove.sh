#!/bin/sh
# otelcol-gaudi: stop and disable the service when the package is removed (not when it is upgraded).
set -e
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now otelcol-gaudi.service || true
    fi
    ;;
esac
exit 0
