#!/usr/bin/env bash
# Soak (not CI): runs BrokerRestartTests N times (default 10), each time stopping RabbitMQ at a random moment between
# 0 and MAX_MS (default 30000) milliseconds after the job is submitted, and prints how many runs completed with the
# embedded run's labels and metrics: "n/N". Needs RabbitMQ and Azurite running (infra/scripts/rabbitmq-start.sh,
# azurite-start.sh) and SSBTOMO_RABBITMQ_PASSWORD (or the password file they wrote); builds once.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-10}"
max_ms="${MAX_MS:-30000}"
password_file="${SSBTOMO_INFRA_DIR:-/tmp/ssbtomo-infra}/rabbitmq/password"
export SSBTOMO_RABBITMQ_PASSWORD="${SSBTOMO_RABBITMQ_PASSWORD:-$(head -n 1 "$password_file" 2>/dev/null || sudo head -n 1 "$password_file")}"
export SSBTOMO_AZURITE_CONNECTION="${SSBTOMO_AZURITE_CONNECTION:-UseDevelopmentStorage=true}"
dotnet build tests/SsbTomo.Distributed.Tests -c Release -nologo -v q
log_dir="$(mktemp -d /tmp/ssbtomo-soak.XXXXXX)"
passed=0
for ((k = 1; k <= runs; k++)); do
  moment=$((RANDOM * 32768 + RANDOM))
  moment=$((moment % (max_ms + 1)))
  if SSBTOMO_SOAK_RESTART_AFTER_MS="$moment" dotnet test tests/SsbTomo.Distributed.Tests -c Release --no-build -nologo \
       --filter "FullyQualifiedName~BrokerRestartTests.A_job_completes_after_RabbitMQ_restarts_in_the_middle_of_it" > "$log_dir/run-$k.log" 2>&1; then
    passed=$((passed + 1)); echo "run $k: broker stopped ${moment} ms after submission: completed, same results"
  else
    echo "run $k: broker stopped ${moment} ms after submission: FAILED (log: $log_dir/run-$k.log)"
  fi
done
echo "$passed/$runs"
