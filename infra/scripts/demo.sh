#!/usr/bin/env bash
# The one command that sets up and runs a phantom end to end: a cycled-50 cathode phantom with known
# truth goes through the whole pipeline, and the measured numbers are printed next to the truth.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-out/demo}
PRESET=${PRESET:-cycled50}
SHAPE=${SHAPE:-128,256,320}
dotnet build services/SsbTomo.Cli -c Release -nologo -v q
CLI=services/SsbTomo.Cli/bin/Release/net10.0/ssbtomo
rm -rf "$OUT"
"$CLI" phantom --preset "$PRESET" --shape "$SHAPE" --voxel-nm 50 --seed 1 --out "$OUT/phantom"
"$CLI" run "$OUT/phantom/stack" --out "$OUT/run"
"$CLI" compare "$OUT/phantom" "$OUT/run"
