// Validates rendered Kubernetes objects (the output of `kubectl kustomize`) against the API
// schemas of kubernetes-models 5.1.0 (generated from the Kubernetes 1.34 OpenAPI; cert-manager and
// prometheus-operator objects from their CRDs), then checks the deployment policy over them.
//
//   node tests/deploy/validate.mjs RENDERED.yaml...   exit 0 iff every object is valid and
//                                                    every policy holds; prints each violation
//   node tests/deploy/validate.mjs --selftest         feeds objects that break each rule and
//                                                    exits 0 iff every rule fired
//
// The schemas accept unknown fields (the Kubernetes OpenAPI does not forbid them); types, enums,
// required fields and formats are checked.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const PRIVATE_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
  "169.254.0.0/16", "127.0.0.0/8"];
const PRIVATE_V6 = ["fc00::/7", "fe80::/10", "::1/128"];

// apiVersion + kind -> the module that has its model class.
function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "cert-manager.io") return `@kubernetes-models/cert-manager/${apiVersion}/${kind}`;
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${apiVersion}/${kind}`;
}

async function schemaErrors(object) {
  if (!object || typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
    return ["no apiVersion/kind"];
  }
  let Model;
  try {
    Model = (await import(modulePath(object.apiVersion, object.kind)))[object.kind];
  } catch {
    return [`no schema for ${object.apiVersion} ${object.kind}`];
  }
  if (!Model) return [`no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (e) {
    return [String(e.message || e).split("\n").slice(0, 6).join(" | ")];
  }
}

function podTemplate(object) {
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(object.kind)) {
    return object.spec?.template;
  }
  if (object.kind === "Pod") return object;
  return undefined;
}

function imageProblem(image) {
  if (!image) return "no image";
  if (image.includes("@sha256:")) return null;
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon < 0 || colon < slash) return `image ${image} has no tag (implicit latest)`;
  if (image.slice(colon + 1) === "latest") return `image ${image} uses the latest tag`;
  return null;
}

function selects(selector, labels) {
  if (!selector?.matchLabels) return false;
  return Object.entries(selector.matchLabels).every(([k, v]) => labels?.[k] === v);
}

// Policy over one rendered overlay (all its objects).
function policyErrors(objects) {
  const errors = [];
  const workloads = objects.filter((o) => podTemplate(o));
  if (workloads.length === 0) errors.push("no workload in the overlay");
  for (const w of workloads) {
    const where = `${w.kind}/${w.metadata?.name}`;
    const t = podTemplate(w);
    const spec = t.spec ?? {};
    const labels = t.metadata?.labels ?? {};
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) errors.push(`${where}: host namespaces`);
    if (spec.securityContext?.runAsNonRoot !== true) errors.push(`${where}: pod not runAsNonRoot`);
    if (!(spec.securityContext?.runAsUser > 0)) errors.push(`${where}: no non-root runAsUser`);
    if (spec.securityContext?.seccompProfile?.type !== "RuntimeDefault") {
      errors.push(`${where}: seccomp not RuntimeDefault`);
    }
    if (!(spec.terminationGracePeriodSeconds >= 30)) {
      errors.push(`${where}: terminationGracePeriodSeconds below 30 s`);
    }
    if (spec.automountServiceAccountToken !== false) {
      errors.push(`${where}: service account token mounted`);
    }
    for (const v of spec.volumes ?? []) {
      if (v.hostPath) errors.push(`${where}: hostPath volume ${v.name}`);
    }
    const annotations = t.metadata?.annotations ?? {};
    if (annotations["prometheus.io/scrape"] !== "true" || !annotations["prometheus.io/port"]) {
      errors.push(`${where}: no Prometheus scrape annotations`);
    }
    const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
    for (const c of containers) {
      const cw = `${where} container ${c.name}`;
      const problem = imageProblem(c.image);
      if (problem) errors.push(`${cw}: ${problem}`);
      // Native gRPC probes, on the container's plaintext health-only port: never the mTLS
      // service port (the kubelet cannot speak TLS) and never an exec of a client.
      const healthPort = (c.ports ?? []).find((port) => port.name === "health")?.containerPort;
      for (const p of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        if (!c[p]) errors.push(`${cw}: no ${p}`);
        else if (!c[p].grpc) errors.push(`${cw}: ${p} is not a native gRPC probe`);
        else if (healthPort === undefined || c[p].grpc.port !== healthPort) {
          errors.push(`${cw}: ${p} not on the port named "health"`);
        }
      }
      for (const kind of ["requests", "limits"]) {
        for (const r of ["cpu", "memory"]) {
          if (!c.resources?.[kind]?.[r]) errors.push(`${cw}: no ${kind}.${r}`);
        }
      }
      const sc = c.securityContext ?? {};
      if (sc.privileged) errors.push(`${cw}: privileged`);
      if (sc.allowPrivilegeEscalation !== false) errors.push(`${cw}: privilege escalation allowed`);
      if (sc.readOnlyRootFilesystem !== true) errors.push(`${cw}: root filesystem writable`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) errors.push(`${cw}: capabilities kept`);
      if ((sc.capabilities?.add ?? []).length) errors.push(`${cw}: capabilities added`);
      if (sc.runAsUser === 0) errors.push(`${cw}: runs as root`);
      for (const port of c.ports ?? []) {
        if (port.hostPort) errors.push(`${cw}: hostPort ${port.hostPort}`);
      }
    }
    // Every workload has a disruption budget and a network policy selecting it.
    const selected = (o) => selects(o.spec?.selector ?? o.spec?.podSelector, labels);
    if (!objects.some((o) => o.kind === "PodDisruptionBudget" && selected(o))) {
      errors.push(`${where}: no PodDisruptionBudget`);
    }
    const policies = objects.filter((o) => o.kind === "NetworkPolicy" && selected(o));
    if (policies.length === 0) errors.push(`${where}: no NetworkPolicy`);
    for (const np of policies) errors.push(...networkPolicyErrors(np));
  }
  return errors;
}

function networkPolicyErrors(np) {
  const errors = [];
  const where = `NetworkPolicy/${np.metadata?.name}`;
  const types = np.spec?.policyTypes ?? [];
  if (!types.includes("Ingress") || !types.includes("Egress")) {
    errors.push(`${where}: must restrict both Ingress and Egress`);
  }
  for (const rule of np.spec?.ingress ?? []) {
    if (!rule.from || rule.from.length === 0) errors.push(`${where}: ingress rule open to all`);
    if (!rule.ports || rule.ports.length === 0) errors.push(`${where}: ingress rule on all ports`);
    for (const peer of rule.from ?? []) {
      const cidr = peer.ipBlock?.cidr;
      if (cidr === "0.0.0.0/0" || cidr === "::/0") errors.push(`${where}: ingress from anywhere`);
    }
  }
  for (const rule of np.spec?.egress ?? []) {
    if (!rule.to || rule.to.length === 0) errors.push(`${where}: egress rule open to all`);
    for (const peer of rule.to ?? []) {
      if (peer.podSelector || peer.namespaceSelector) {
        errors.push(`${where}: egress to cluster workloads`);
      }
      const cidr = peer.ipBlock?.cidr;
      const except = peer.ipBlock?.except ?? [];
      const needed = cidr === "0.0.0.0/0" ? PRIVATE_V4 : cidr === "::/0" ? PRIVATE_V6 : [];
      for (const range of needed) {
        if (!except.includes(range)) errors.push(`${where}: egress reaches ${range}`);
      }
    }
    const ports = (rule.ports ?? []).map((p) => p.port);
    if (ports.length === 0) errors.push(`${where}: egress on all ports`);
    for (const port of ports) {
      if (![53, 80, 443].includes(port)) errors.push(`${where}: egress port ${port}`);
    }
  }
  return errors;
}

async function checkObjects(objects, label) {
  const errors = [];
  for (const o of objects) {
    for (const e of await schemaErrors(o)) {
      errors.push(`${label}: ${o?.kind}/${o?.metadata?.name}: schema: ${e}`);
    }
  }
  for (const e of policyErrors(objects)) errors.push(`${label}: policy: ${e}`);
  return errors;
}

function load(path) {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const objects = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${path}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o) objects.push(o);
  }
  return objects;
}

// Every rule above must be able to fire: one broken object per rule.
async function selftest() {
  const good = load(new URL("./testdata/good.yaml", import.meta.url).pathname);
  const failures = [];
  const baseline = await checkObjects(good, "good");
  if (baseline.length) failures.push(`the good overlay fails: ${baseline.join("; ")}`);
  const cases = {
    "schema": (o) => { o.deploy.spec.replicas = "two"; },
    "host namespaces": (o) => { o.deploy.spec.template.spec.hostNetwork = true; },
    "pod not runAsNonRoot": (o) => { delete o.deploy.spec.template.spec.securityContext.runAsNonRoot; },
    "seccomp": (o) => { o.deploy.spec.template.spec.securityContext.seccompProfile.type = "Unconfined"; },
    "latest": (o) => { o.container.image = "registry.example.net/mpic:latest"; },
    "no tag": (o) => { o.container.image = "registry.example.net/mpic"; },
    "no readinessProbe": (o) => { delete o.container.readinessProbe; },
    "no startupProbe": (o) => { delete o.container.startupProbe; },
    "exec probe": (o) => { o.container.livenessProbe = { exec: { command: ["true"] } }; },
    "probe on the service port": (o) => { o.container.readinessProbe.grpc.port = 8443; },
    "no limits.memory": (o) => { delete o.container.resources.limits.memory; },
    "root filesystem writable": (o) => { o.container.securityContext.readOnlyRootFilesystem = false; },
    "capabilities kept": (o) => { o.container.securityContext.capabilities.drop = ["NET_RAW"]; },
    "privilege escalation": (o) => { delete o.container.securityContext.allowPrivilegeEscalation; },
    "hostPort": (o) => { o.container.ports[0].hostPort = 443; },
    "no PodDisruptionBudget": (o) => { o.objects.splice(o.objects.indexOf(o.pdb), 1); },
    "no NetworkPolicy": (o) => { o.objects.splice(o.objects.indexOf(o.np), 1); },
    "ingress rule open": (o) => { delete o.np.spec.ingress[0].from; },
    "egress reaches": (o) => { o.np.spec.egress[0].to[0].ipBlock.except = []; },
    "egress port": (o) => { o.np.spec.egress[0].ports.push({ port: 5432, protocol: "TCP" }); },
    "no Prometheus": (o) => { delete o.deploy.spec.template.metadata.annotations; },
  };
  for (const [name, breakIt] of Object.entries(cases)) {
    const objects = structuredClone(good);
    const deploy = objects.find((x) => x.kind === "Deployment");
    const o = {
      objects, deploy, container: deploy.spec.template.spec.containers[0],
      pdb: objects.find((x) => x.kind === "PodDisruptionBudget"),
      np: objects.find((x) => x.kind === "NetworkPolicy"),
    };
    breakIt(o);
    const errors = await checkObjects(objects, name);
    if (errors.length === 0) failures.push(`rule "${name}" did not fire`);
  }
  for (const f of failures) console.error(`selftest: ${f}`);
  console.log(`${Object.keys(cases).length + 1 - failures.length} passed, ${failures.length} failed`);
  return failures.length === 0;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--selftest") process.exit((await selftest()) ? 0 : 1);
  if (args.length === 0) {
    console.error("usage: node validate.mjs RENDERED.yaml... | --selftest");
    process.exit(2);
  }
  let total = 0;
  let bad = 0;
  for (const path of args) {
    const objects = load(path);
    total += objects.length;
    const errors = await checkObjects(objects, path);
    for (const e of errors) console.error(e);
    if (errors.length) bad += 1;
    console.log(`${path}: ${objects.length} objects, ${errors.length} problem(s)`);
  }
  console.log(`${args.length - bad} passed, ${bad} failed (${total} objects)`);
  process.exit(bad === 0 ? 0 : 1);
}

await main();
