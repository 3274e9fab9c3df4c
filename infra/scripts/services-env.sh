#!/usr/bin/env bash
# Environment that points SsbTomo services (and the Azurite-backed tests) at the local RabbitMQ and Azurite
# started by rabbitmq-start.sh and azurite-start.sh. Either
#   eval "$(infra/scripts/services-env.sh)"     # prints export lines
#   source infra/scripts/services-env.sh        # exports into the current shell
# The RabbitMQ password comes from $SSBTOMO_RABBITMQ_PASSWORD, else from the file rabbitmq-start.sh wrote.

_ssbtomo_services_env() {
  local infra_dir="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}"
  local password_file="$infra_dir/rabbitmq/password"
  local password="${SSBTOMO_RABBITMQ_PASSWORD:-}"
  if [ -z "$password" ]; then
    if [ ! -r "$password_file" ]; then
      echo "services-env: no RabbitMQ password: set SSBTOMO_RABBITMQ_PASSWORD or run infra/scripts/rabbitmq-start.sh (as root) first" >&2
      return 1
    fi
    password="$(head -n 1 "$password_file")"
  fi
  local -a vars=(
    "SsbTomo__Transport=RabbitMq"
    "SsbTomo__RabbitMq__Host=127.0.0.1"
    "SsbTomo__RabbitMq__Username=ssbtomo"
    "SsbTomo__RabbitMq__Password=$password"
    "SsbTomo__BlobStore=AzureBlob"
    "SsbTomo__AzureBlob__ConnectionString=UseDevelopmentStorage=true"
    "SsbTomo__AzureBlob__Container=ssbtomo"
    "SSBTOMO_AZURITE_CONNECTION=UseDevelopmentStorage=true"
  )
  local var
  for var in "${vars[@]}"; do
    if [ "$1" = export ]; then
      export "${var?}"
    else
      printf 'export %s=%q\n' "${var%%=*}" "${var#*=}"
    fi
  done
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: do not change the caller's shell options.
  if _ssbtomo_services_env export; then
    unset -f _ssbtomo_services_env
  else
    unset -f _ssbtomo_services_env
    return 1
  fi
else
  set -euo pipefail
  _ssbtomo_services_env print
fi
