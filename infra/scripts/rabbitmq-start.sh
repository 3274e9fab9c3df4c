#!/usr/bin/env bash
# Starts a loopback-only RabbitMQ broker (127.0.0.1:5672, management UI/API on 127.0.0.1:15672) without systemd.
# Idempotent: installs rabbitmq-server via apt on first use; if the broker is already running it only makes sure
# the user exists. The broker's data (Mnesia database under $SSBTOMO_INFRA_DIR/rabbitmq: vhosts, durable queues and
# their persistent messages) survives a stop and start, as on a real broker; `--reset` starts from an empty one (and
# resets a running broker: every queue and message is gone).
# User "ssbtomo" (administrator, all permissions on vhost /), password from $SSBTOMO_RABBITMQ_PASSWORD or generated
# once into $SSBTOMO_INFRA_DIR/rabbitmq/password (mode 0600). The loopback-only "guest" user is deleted.
# Needs root (re-runs itself with sudo otherwise): the broker runs as the Debian "rabbitmq" user.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=SSBTOMO_INFRA_DIR,SSBTOMO_RABBITMQ_PASSWORD "$0" "$@"
fi

INFRA_DIR="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}"
STATE="$INFRA_DIR/rabbitmq"
RABBIT_USER=ssbtomo
RESET=0
case "${1:-}" in
  --reset) RESET=1 ;;
  "") ;;
  *) echo "rabbitmq-start: unknown argument $1 (--reset: start from an empty broker)" >&2; exit 2 ;;
esac

export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_CONFIG_FILE="$STATE/rabbitmq.conf"
export RABBITMQ_MNESIA_BASE="$STATE/mnesia"
export RABBITMQ_LOG_BASE="$STATE/log"
export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/enabled_plugins"
export RABBITMQ_PID_FILE="$STATE/rabbit.pid"
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

if ! command -v rabbitmq-server >/dev/null; then
  echo "rabbitmq: installing rabbitmq-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq rabbitmq-server >/dev/null
fi

mkdir -p "$STATE"
chmod 0755 "$INFRA_DIR" "$STATE"
if ! runuser -u rabbitmq -- test -x "$STATE"; then
  echo "rabbitmq: user 'rabbitmq' cannot reach $STATE; choose an SSBTOMO_INFRA_DIR outside private directories" >&2
  exit 1
fi

PASSWORD_FILE="$STATE/password"
if [ -n "${SSBTOMO_RABBITMQ_PASSWORD:-}" ]; then
  PASSWORD="$SSBTOMO_RABBITMQ_PASSWORD"
  (umask 077; printf '%s\n' "$PASSWORD" >"$PASSWORD_FILE")
elif [ -s "$PASSWORD_FILE" ]; then
  PASSWORD="$(head -n 1 "$PASSWORD_FILE")"
else
  PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
  (umask 077; printf '%s\n' "$PASSWORD" >"$PASSWORD_FILE")
fi
chmod 0600 "$PASSWORD_FILE"

if rabbitmqctl -q ping >/dev/null 2>&1; then
  echo "rabbitmq: already running"
  # A node whose app was stopped (a broker-restart test interrupted between stop_app and start_app) answers ping
  # but refuses every command: bring the app back instead of failing on the user set-up below.
  if ! rabbitmqctl -q status >/dev/null 2>&1 || ! rabbitmqctl -q list_users >/dev/null 2>&1; then
    echo "rabbitmq: node up but its app is stopped; starting it"
    rabbitmqctl -q start_app
    rabbitmqctl -q await_startup
  fi
  if [ "$RESET" = 1 ]; then
    echo "rabbitmq: --reset: wiping every vhost, queue and message of the running broker"
    rabbitmqctl -q stop_app
    rabbitmqctl -q reset
    rabbitmqctl -q start_app
    rabbitmqctl -q await_startup
  fi
else
  cat >"$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.default = 127.0.0.1:5672
management.tcp.ip = 127.0.0.1
management.tcp.port = 15672
loopback_users.guest = true
CONF
  if [ "$RESET" = 1 ]; then
    echo "rabbitmq: --reset: starting from an empty database"
    rm -rf "$RABBITMQ_MNESIA_BASE"
  fi
  rm -f "$RABBITMQ_PID_FILE"
  mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  chown -R rabbitmq:rabbitmq "$STATE"
  chown root:root "$PASSWORD_FILE"
  chmod 0644 "$RABBITMQ_CONFIG_FILE"
  rabbitmq-plugins -q enable --offline rabbitmq_management >/dev/null
  rabbitmq-server -detached
  if ! rabbitmqctl -q wait "$RABBITMQ_PID_FILE" --timeout 60 >/dev/null; then
    echo "rabbitmq: did not start; see $RABBITMQ_LOG_BASE (a damaged database: $0 --reset starts from an empty one)" >&2
    exit 1
  fi
  echo "rabbitmq: started (node $RABBITMQ_NODENAME, state $STATE)"
fi

if rabbitmqctl -q list_users --formatter=json | grep -q "\"user\":\"$RABBIT_USER\""; then
  rabbitmqctl -q change_password "$RABBIT_USER" "$PASSWORD" >/dev/null
else
  rabbitmqctl -q add_user "$RABBIT_USER" "$PASSWORD" >/dev/null
fi
rabbitmqctl -q set_user_tags "$RABBIT_USER" administrator >/dev/null
rabbitmqctl -q set_permissions -p / "$RABBIT_USER" ".*" ".*" ".*" >/dev/null
rabbitmqctl -q delete_user guest >/dev/null 2>&1 || true

for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null && break
  sleep 0.2
done
echo "rabbitmq: ready: amqp://$RABBIT_USER@127.0.0.1:5672/ (password in $PASSWORD_FILE), management http://127.0.0.1:15672/"
