#!/usr/bin/env bash
# The one command that sets up and runs every test on a fresh Debian machine with the .NET 10 SDK:
# installs the oracles (Debian python3-skimage/scipy/zarr/tifffile/sklearn) and Debian chromium (browser tests), starts Azurite and RabbitMQ
# (the distributed tests run the services as separate processes against both), builds, tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/install-oracles.sh
infra/scripts/install-browser.sh
trap 'infra/scripts/azurite-stop.sh >/dev/null 2>&1 || true; infra/scripts/rabbitmq-stop.sh >/dev/null 2>&1 || true' EXIT
infra/scripts/azurite-start.sh
# A clean broker for the suite: what earlier runs left on it is not the tests' business.
infra/scripts/rabbitmq-start.sh --reset
export SSBTOMO_AZURITE_CONNECTION="UseDevelopmentStorage=true"
# The broker's password for tests/SsbTomo.Distributed.Tests (rabbitmq-start.sh keeps it root-only).
RABBIT_PASSWORD_FILE="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}/rabbitmq/password"
if [ -z "${SSBTOMO_RABBITMQ_PASSWORD:-}" ]; then
  SSBTOMO_RABBITMQ_PASSWORD="$(head -n 1 "$RABBIT_PASSWORD_FILE" 2>/dev/null || sudo head -n 1 "$RABBIT_PASSWORD_FILE")"
fi
export SSBTOMO_RABBITMQ_PASSWORD
infra/scripts/validate-k8s.sh
dotnet build SsbTomo.sln -c Release -nologo -v q
# Default console verbosity: a failed test prints its name, assertion message and stack trace (quiet printed only [FAIL]).
dotnet test SsbTomo.sln -c Release --no-build -nologo "$@"
