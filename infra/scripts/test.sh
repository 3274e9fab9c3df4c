#!/usr/bin/env bash
# The one command that sets up and runs every test on a fresh Debian machine with the .NET 10 SDK:
# installs the oracles (Debian python3-skimage/scipy/zarr/tifffile/sklearn), starts Azurite, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/install-oracles.sh
infra/scripts/azurite-start.sh
trap 'infra/scripts/azurite-stop.sh >/dev/null 2>&1 || true' EXIT
export SSBTOMO_AZURITE_CONNECTION="UseDevelopmentStorage=true"
infra/scripts/validate-k8s.sh
dotnet build SsbTomo.sln -c Release -nologo -v q
dotnet test SsbTomo.sln -c Release --no-build -nologo -v q "$@"
