#!/usr/bin/env bash
# Starts Azurite (Azure Blob Storage emulator, blob service only) on 127.0.0.1:10000 in the background.
# Idempotent: installs azurite@3 from npm into $SSBTOMO_INFRA_DIR/azurite/tool on first use, does nothing
# if it is already running. Blob data persists in $SSBTOMO_INFRA_DIR/azurite/data until azurite-stop.sh --wipe.
# Connection string for clients: UseDevelopmentStorage=true
set -euo pipefail

INFRA_DIR="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}"
STATE="$INFRA_DIR/azurite"
TOOL="$STATE/tool"
MAIN="$TOOL/node_modules/azurite/dist/src/blob/main.js"
PIDFILE="$STATE/azurite.pid"
LOG="$STATE/azurite.log"
HOST=127.0.0.1
PORT=10000

port_answers() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }
our_azurite_running() {
  [ -s "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null && grep -qa "azurite" "/proc/$pid/cmdline" 2>/dev/null
}

mkdir -p "$STATE/data"

if our_azurite_running && port_answers; then
  echo "azurite: already running (pid $(cat "$PIDFILE")) on $HOST:$PORT"
  exit 0
fi
if port_answers; then
  echo "azurite: $HOST:$PORT is already taken by another process; stop it first" >&2
  exit 1
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "azurite: installing nodejs and npm (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

if [ ! -f "$MAIN" ]; then
  echo "azurite: installing azurite@3 into $TOOL (npm)"
  mkdir -p "$TOOL"
  npm install --prefix "$TOOL" --no-audit --no-fund --loglevel=error azurite@3 >/dev/null
fi

# setsid: survive the calling shell; the inner shell writes its own pid, then becomes node.
setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$PIDFILE" \
  node "$MAIN" --blobHost "$HOST" --blobPort "$PORT" --location "$STATE/data" \
  --skipApiVersionCheck --loose --silent </dev/null >"$LOG" 2>&1 &

for _ in $(seq 1 150); do
  if port_answers; then
    echo "azurite: blob service ready on http://$HOST:$PORT/devstoreaccount1 (pid $(cat "$PIDFILE"), data $STATE/data)"
    exit 0
  fi
  if [ -s "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
echo "azurite: did not start; log $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
