#!/usr/bin/env bash
# Stops the broker started by rabbitmq-start.sh and the Erlang port mapper (epmd). Keeps the state dir
# (password, logs) and the broker's data: the next start has the same vhosts, queues and persistent messages
# (rabbitmq-start.sh --reset wipes them).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=SSBTOMO_INFRA_DIR "$0" "$@"
fi

INFRA_DIR="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}"
STATE="$INFRA_DIR/rabbitmq"
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_CONFIG_FILE="$STATE/rabbitmq.conf"
export RABBITMQ_MNESIA_BASE="$STATE/mnesia"
export RABBITMQ_LOG_BASE="$STATE/log"
export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/enabled_plugins"
export RABBITMQ_PID_FILE="$STATE/rabbit.pid"
export ERL_EPMD_ADDRESS=127.0.0.1

if ! command -v rabbitmqctl >/dev/null; then
  echo "rabbitmq: not installed"
  exit 0
fi
if rabbitmqctl -q ping >/dev/null 2>&1; then
  rabbitmqctl -q stop "$RABBITMQ_PID_FILE" >/dev/null
  echo "rabbitmq: stopped"
else
  echo "rabbitmq: not running"
fi
if command -v epmd >/dev/null; then
  epmd -kill >/dev/null 2>&1 || true
fi
