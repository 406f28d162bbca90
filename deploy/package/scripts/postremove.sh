#!/bin/sh
# otelcol-gaudi: on purge (deb) remove what the service wrote; the config files go with dpkg's purge. The
# system user stays, as Debian's policy asks: files it owned may remain elsewhere.
set -e
case "$1" in
  purge)
    rm -rf /var/lib/otelcol-gaudi /var/log/otelcol-gaudi /run/otelcol-gaudi
    ;;
esac
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
