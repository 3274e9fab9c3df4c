#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests (tests/SsbTomo.Orchestrator.Tests/Security), which
# Microsoft.Playwright drives at /usr/bin/chromium: Playwright's own browser download does not work on these machines.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
