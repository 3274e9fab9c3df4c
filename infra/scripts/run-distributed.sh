#!/usr/bin/env bash
# Runs SsbTomo distributed on this machine: RabbitMQ and Azurite (rabbitmq-start.sh, azurite-start.sh), then every
# service as its own process on its own port with its own log: Orchestrator (API and dashboard), Ingest, Alignment,
# Segmentation (one or more workers), Reconstruction, Metrics. Stop them with infra/scripts/stop-distributed.sh.
#
#   infra/scripts/run-distributed.sh --share /share [--workers 2] [--no-build]
#
# --share DIR     the folder the API accepts stacks from (SsbTomo__ShareRoots__0; required unless that is exported)
# --workers N     segmentation workers (default 1); the extra ones listen on the ports after Metrics'
# --no-build      start what is built (services/*/bin/Release) instead of building the services first
#
# Environment: SSBTOMO_RUN_DIR (default /tmp/ssbtomo-run) holds logs/, pids, the job store (jobs.db) and, unless
# SsbTomo__Auth__ApiKeysFile names your own key file, a generated key file with one operator key (operator.key, 0600).
# SSBTOMO_PORT_BASE (default 5080): Orchestrator on it, Ingest +1, Alignment +2, Segmentation +3, Reconstruction +4,
# Metrics +5, extra segmentation workers +6, ... Every SsbTomo__* variable you export wins over infra/scripts/services-env.sh
# (e.g. SsbTomo__ChunkSlices, SsbTomo__AzureBlob__Container, SsbTomo__RabbitMq__VirtualHost, SsbTomo__Stall__FloorSeconds).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRIPTS="$REPO/infra/scripts"
RUN_DIR="${SSBTOMO_RUN_DIR:-/tmp/ssbtomo-run}"
PORT_BASE="${SSBTOMO_PORT_BASE:-5080}"
WORKERS=1
BUILD=1
SHARE="${SsbTomo__ShareRoots__0:-}"

while [ $# -gt 0 ]; do
  case "$1" in
    --share) SHARE="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-distributed: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$SHARE" ]; then
  echo "run-distributed: say where stacks are submitted from: --share DIR (or export SsbTomo__ShareRoots__0)" >&2
  exit 2
fi
if [ ! -d "$SHARE" ]; then
  echo "run-distributed: share folder $SHARE does not exist" >&2
  exit 2
fi
case "$WORKERS" in ''|*[!0-9]*|0) echo "run-distributed: --workers must be a positive number" >&2; exit 2 ;; esac

LOG_DIR="$RUN_DIR/logs"
PID_DIR="$RUN_DIR/pids"
mkdir -p "$LOG_DIR" "$PID_DIR"
if ls "$PID_DIR"/*.pid >/dev/null 2>&1; then
  for pidfile in "$PID_DIR"/*.pid; do
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null && grep -qa SsbTomo "/proc/$pid/cmdline" 2>/dev/null; then
      echo "run-distributed: $(basename "$pidfile" .pid) (pid $pid) from an earlier start is still running: run infra/scripts/stop-distributed.sh first" >&2
      exit 1
    fi
    rm -f "$pidfile"
  done
fi

"$SCRIPTS/rabbitmq-start.sh"
"$SCRIPTS/azurite-start.sh"

# services-env.sh's settings, except where the caller exported their own.
while IFS= read -r line; do
  assignment="${line#export }"
  name="${assignment%%=*}"
  if [ -z "${!name:-}" ]; then eval "$line"; fi
done < <("$SCRIPTS/services-env.sh")
export SsbTomo__ShareRoots__0="$SHARE"
# The job store survives an Orchestrator restart (the default with RabbitMQ); here beside the logs.
export SsbTomo__JobStore="${SsbTomo__JobStore:-Sqlite}"
export SsbTomo__SqlitePath="${SsbTomo__SqlitePath:-$RUN_DIR/jobs.db}"

if [ -z "${SsbTomo__Auth__ApiKeysFile:-}" ]; then
  export SsbTomo__Auth__ApiKeysFile="$RUN_DIR/api-keys"
  if [ ! -s "$RUN_DIR/operator.key" ] || [ ! -s "$SsbTomo__Auth__ApiKeysFile" ]; then
    # The same key line as `ssbtomo apikey` writes (README, Access): only the key's SHA-256 is in the key file.
    key="ssbtomo_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    (umask 077; printf '%s\n' "$key" >"$RUN_DIR/operator.key")
    printf 'operator operator %s\n' "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" >"$SsbTomo__Auth__ApiKeysFile"
  fi
fi

SERVICES=(Orchestrator Ingest Alignment Segmentation Reconstruction Metrics)
if [ "$BUILD" = 1 ]; then
  echo "run-distributed: building the services (Release)"
  for service in "${SERVICES[@]}"; do
    dotnet build "$REPO/services/SsbTomo.$service" -c Release -nologo -v q >"$LOG_DIR/build-$service.log" 2>&1 \
      || { echo "run-distributed: building $service failed; see $LOG_DIR/build-$service.log" >&2; exit 1; }
  done
fi

declare -a NAMES=() PORTS=()
launch() { # name service port
  local name="$1" service="$2" port="$3"
  local dll="$REPO/services/SsbTomo.$service/bin/Release/net10.0/SsbTomo.$service.dll"
  if [ ! -f "$dll" ]; then
    echo "run-distributed: $dll is missing: run without --no-build" >&2
    exit 1
  fi
  # setsid: the services outlive this script's shell. Nothing of this script's own output stays open in them, so a
  # caller reading it (a pipe, a test) sees its end. The inner shell supervises like Kubernetes' restart policy, for one
  # exit code only: 75 is a service whose bus watchdog found its bus wedged (README, Run it distributed); any other end
  # (stop-distributed.sh's SIGTERM, a crash, a kill) stays an end. The pid file always holds the running dotnet's pid.
  ASPNETCORE_URLS="http://127.0.0.1:$port" setsid bash -c '
    cd "$1" && pidfile="$2" && shift 2
    while :; do
      "$@" & child=$!
      echo "$child" > "$pidfile"
      wait "$child"; code=$?
      [ "$code" = 75 ] || exit "$code"
      echo "run-distributed: $(date -u +%FT%TZ) the service exited with code 75 (bus watchdog): starting it again"
      sleep 1
    done' _ "$(dirname "$dll")" "$PID_DIR/$name.pid" dotnet "$dll" </dev/null >"$LOG_DIR/$name.log" 2>&1 &
  NAMES+=("$name"); PORTS+=("$port")
}

launch orchestrator Orchestrator "$PORT_BASE"
launch ingest Ingest $((PORT_BASE + 1))
launch alignment Alignment $((PORT_BASE + 2))
launch segmentation-1 Segmentation $((PORT_BASE + 3))
launch reconstruction Reconstruction $((PORT_BASE + 4))
launch metrics Metrics $((PORT_BASE + 5))
for i in $(seq 2 "$WORKERS"); do
  launch "segmentation-$i" Segmentation $((PORT_BASE + 4 + i))
done

echo "run-distributed: waiting for every service to be ready (GET /health/ready)"
for i in "${!NAMES[@]}"; do
  name="${NAMES[$i]}"; port="${PORTS[$i]}"
  ready=0
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then ready=1; break; fi
    if [ -s "$PID_DIR/$name.pid" ] && ! kill -0 "$(cat "$PID_DIR/$name.pid")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  if [ "$ready" != 1 ]; then
    echo "run-distributed: $name did not become ready on port $port; the end of $LOG_DIR/$name.log:" >&2
    tail -n 20 "$LOG_DIR/$name.log" >&2 || true
    echo "run-distributed: stop what did start with infra/scripts/stop-distributed.sh" >&2
    exit 1
  fi
done

printf '\n%-16s %-7s %-24s %s\n' service pid url log
for i in "${!NAMES[@]}"; do
  name="${NAMES[$i]}"
  printf '%-16s %-7s %-24s %s\n' "$name" "$(cat "$PID_DIR/$name.pid")" "http://127.0.0.1:${PORTS[$i]}" "$LOG_DIR/$name.log"
done
cat <<EOF

Logs: $LOG_DIR
Dashboard and API: http://127.0.0.1:$PORT_BASE/  (job store $SsbTomo__SqlitePath; results in Azure blob container $SsbTomo__AzureBlob__Container)
EOF
if [ -s "$RUN_DIR/operator.key" ]; then
  echo "Operator key: $RUN_DIR/operator.key   (KEY=\$(cat $RUN_DIR/operator.key); curl -H \"X-Api-Key: \$KEY\" ...)"
fi
echo "Stop: infra/scripts/stop-distributed.sh   (RabbitMQ and Azurite keep running: rabbitmq-stop.sh, azurite-stop.sh)"
