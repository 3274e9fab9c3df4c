#!/usr/bin/env bash
# Stops the services run-distributed.sh started (their pids are in $SSBTOMO_RUN_DIR/pids, default /tmp/ssbtomo-run):
# SIGTERM, up to 15 s for a clean shutdown, then SIGKILL. Leaves RabbitMQ and Azurite running (rabbitmq-stop.sh,
# azurite-stop.sh stop them), and the logs, job store and key file in place.
set -euo pipefail

RUN_DIR="${SSBTOMO_RUN_DIR:-/tmp/ssbtomo-run}"
PID_DIR="$RUN_DIR/pids"

ours() { kill -0 "$1" 2>/dev/null && grep -qa SsbTomo "/proc/$1/cmdline" 2>/dev/null; }

shopt -s nullglob
pidfiles=("$PID_DIR"/*.pid)
if [ ${#pidfiles[@]} -eq 0 ]; then
  echo "stop-distributed: nothing started from $RUN_DIR"
  exit 0
fi
for pidfile in "${pidfiles[@]}"; do
  pid="$(cat "$pidfile")"
  # A pid file can outlive its process, and the pid be reused: only an SsbTomo service is signalled.
  if ours "$pid"; then kill -TERM "$pid"; fi
done
for pidfile in "${pidfiles[@]}"; do
  pid="$(cat "$pidfile")"
  name="$(basename "$pidfile" .pid)"
  for _ in $(seq 1 75); do ours "$pid" || break; sleep 0.2; done
  if ours "$pid"; then
    kill -KILL "$pid"
    echo "stop-distributed: $name (pid $pid) killed after 15 s"
  else
    echo "stop-distributed: $name (pid $pid) stopped"
  fi
  rm -f "$pidfile"
done
echo "stop-distributed: logs stay in $RUN_DIR/logs"
