#!/usr/bin/env bash
# The one command that sets up and runs every test on a fresh Debian machine with the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/install-oracles.sh
dotnet build SsbTomo.sln -c Release -nologo -v q
dotnet test SsbTomo.sln -c Release --no-build -nologo -v q "$@"
