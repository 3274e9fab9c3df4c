#!/usr/bin/env bash
# Stops the Azurite started by azurite-start.sh (by its pid file). --wipe also deletes its blob data.
set -euo pipefail

INFRA_DIR="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}"
STATE="$INFRA_DIR/azurite"
PIDFILE="$STATE/azurite.pid"

if [ -s "$PIDFILE" ]; then
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null && grep -qa "azurite" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid"
    fi
    echo "azurite: stopped (pid $pid)"
  else
    echo "azurite: not running (stale pid file)"
  fi
  rm -f "$PIDFILE"
else
  echo "azurite: not running"
fi

if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$STATE/data"
  echo "azurite: data wiped"
fi
