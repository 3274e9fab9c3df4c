// Fail closed, checked on the rendered manifests: an orchestrator that runs on a broker transport (reachable by other
// pods and, through the ingress, by people) must have authentication wired, as it refuses to start without it.
//
//   node access.mjs [--require-oidc] rendered.yaml
//
// Accepted: API keys from a file that a Secret volume provides (SsbTomo__Auth__ApiKeysFile inside a mount of a secret
// volume that has that key path), and/or an OpenID Connect provider (SsbTomo__Auth__Oidc__Authority and __Audience).
// Refused: SsbTomo__Auth__Mode=None, keys from a file nothing mounts, an authority without an audience.
// --require-oidc: the overlay must also name the provider (prod). --selftest: breaks the render on purpose in each way
// above and requires every break to be refused.
import { readFileSync } from "node:fs";
import YAML from "yaml";

const args = process.argv.slice(2);
const requireOidc = args.includes("--require-oidc");
const selftest = args.includes("--selftest");
const file = args.find((a) => !a.startsWith("--"));
const docs = YAML.parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);

function check(objects, needOidc) {
  const problems = [];
  const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]));
  const orchestrators = objects.filter((o) => o.kind === "Deployment" && o.metadata?.name === "orchestrator");
  if (orchestrators.length === 0) problems.push("no orchestrator Deployment");
  const summaries = [];
  for (const deployment of orchestrators) {
    const pod = deployment.spec.template.spec;
    const container = pod.containers.find((c) => c.name === "orchestrator") ?? pod.containers[0];
    const settings = {};
    for (const source of container.envFrom ?? [])
      if (source.configMapRef) Object.assign(settings, configMaps.get(source.configMapRef.name) ?? {});
    for (const variable of container.env ?? []) settings[variable.name] = variable.value ?? (variable.valueFrom ? "<from a reference>" : "");
    const transport = settings.SsbTomo__Transport ?? "InMemory";
    if ((settings.SsbTomo__Auth__Mode ?? "").toLowerCase() === "none") problems.push("SsbTomo__Auth__Mode=None: the API and dashboard would be open");

    let keys = null;
    const keysFile = settings.SsbTomo__Auth__ApiKeysFile;
    if (keysFile) {
      const mount = (container.volumeMounts ?? []).find((m) => keysFile.startsWith(m.mountPath.replace(/\/?$/, "/")));
      const volume = mount && (pod.volumes ?? []).find((v) => v.name === mount.name);
      const relative = mount && keysFile.slice(mount.mountPath.replace(/\/?$/, "/").length);
      if (!volume?.secret) problems.push(`SsbTomo__Auth__ApiKeysFile=${keysFile} is not inside a mounted Secret volume`);
      else if (volume.secret.items && !volume.secret.items.some((i) => i.path === relative))
        problems.push(`the Secret volume ${volume.name} has no item with path ${relative}`);
      else keys = volume.secret.secretName;
    }
    const authority = settings.SsbTomo__Auth__Oidc__Authority;
    const audience = settings.SsbTomo__Auth__Oidc__Audience;
    if (authority && !audience) problems.push("SsbTomo__Auth__Oidc__Authority without SsbTomo__Auth__Oidc__Audience");
    const oidc = authority && audience ? `${authority} (audience ${audience})` : null;
    if (transport !== "InMemory" && !keys && !oidc) problems.push(`transport ${transport} without API keys or an OpenID Connect provider`);
    if (needOidc && !oidc) problems.push("no OpenID Connect provider (SsbTomo__Auth__Oidc__Authority and __Audience)");
    summaries.push(`transport ${transport}, API keys ${keys ? `from Secret ${keys}` : "none"}, OIDC ${oidc ?? "none"}`);
  }
  return { problems, summaries };
}

if (selftest) {
  const breaks = {
    "Mode=None": (c) => c.env.push({ name: "SsbTomo__Auth__Mode", value: "None" }),
    "no credentials at all": (c) => (c.env = c.env.filter((e) => !e.name.startsWith("SsbTomo__Auth__"))),
    "keys from a file nothing mounts": (c) => {
      c.env = c.env.filter((e) => !e.name.startsWith("SsbTomo__Auth__Oidc"));
      c.env.find((e) => e.name === "SsbTomo__Auth__ApiKeysFile").value = "/tmp/api-keys";
    },
    "authority without audience": (c) => (c.env = c.env.filter((e) => e.name !== "SsbTomo__Auth__Oidc__Audience")),
  };
  let failed = 0;
  for (const [name, breakIt] of Object.entries(breaks)) {
    const copy = structuredClone(docs);
    const deployment = copy.find((o) => o.kind === "Deployment" && o.metadata?.name === "orchestrator");
    breakIt(deployment.spec.template.spec.containers.find((c) => c.name === "orchestrator"));
    const { problems } = check(copy, false);
    console.log(`   | ${name}: ${problems.length ? "refused (" + problems.join("; ") + ")" : "ACCEPTED"}`);
    if (problems.length === 0) failed++;
  }
  if (failed) { console.error(`access self-test FAILED: ${failed} broken configurations accepted`); process.exit(1); }
  console.log("access self-test passed");
} else {
  const { problems, summaries } = check(docs, requireOidc);
  for (const s of summaries) console.log(`   | orchestrator: ${s}`);
  if (problems.length) { for (const p of problems) console.error(`ACCESS: ${file}: ${p}`); process.exit(1); }
}
