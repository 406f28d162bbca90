#!/bin/sh
# otelcol-gaudi: the dedicated system user and group, before the files owned by them are unpacked.
set -e
if ! getent group otelcol-gaudi >/dev/null; then
  groupadd --system otelcol-gaudi
fi
if ! getent passwd otelcol-gaudi >/dev/null; then
  useradd --system --gid otelcol-gaudi --no-create-home --home-dir /var/lib/otelcol-gaudi \
    --shell /usr/sbin/nologin --comment "otelcol-gaudi collector" otelcol-gaudi
fi
exit 0
