// deploy/openshift: each overlay built with kustomize and every object validated against the
// schema of its kind (Kubernetes, Prometheus Operator, OpenShift Route), unknown fields
// refused, and the objects checked against each other and against the code (probes, config
// files through the services' own config schemas, metric names of the alerts). What is
// checked is listed in docs/deploy.md; the checks are shown to fail on broken manifests.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfigOf, loadConfig, type ServiceDefinition } from "@atomic-ci/runtime";
import { collectProcessMetrics, createMetrics, Registry } from "@atomic-ci/telemetry";
import { idOf, keyOf, kustomize, OPENSHIFT_DIR, schemaErrors, unknownFieldErrors, type K8sObject } from "./manifests.js";

const SERVICES = ["trigger-listener", "composer", "image-builder", "test-runner", "gatekeeper", "publisher", "dashboard"] as const;
const OVERLAYS = ["dev", "prod"] as const;

/** Secrets the manifests reference but never contain: created by ops (docs/deploy.md). */
const EXTERNAL_SECRETS = [...SERVICES.map((s) => `atomic-ci-${s}-amqp-tls`), "atomic-ci-publisher-gpg", "atomic-ci-redis"];
/** Metrics the alerts use that the code does not export yet (docs/deploy.md, "Alerts"). */

interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
}
const podOf = (d: K8sObject) => (d["spec"] as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;
const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

const built: Record<string, K8sObject[]> = {};
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "atomic-ci-manifests-"));
  for (const overlay of OVERLAYS) built[overlay] = await kustomize(join(OPENSHIFT_DIR, "overlays", overlay));
  built["base"] = await kustomize(join(OPENSHIFT_DIR, "base"));
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

for (const overlay of [...OVERLAYS, "base"] as const) {
  describe(`kustomize build of ${overlay === "base" ? "the base" : `overlays/${overlay}`}`, () => {
    const objects = () => built[overlay] ?? [];

    it("has the objects of the deployment, each valid against the schema of its kind", () => {
      const kinds = objects().map(keyOf);
      expect(kinds.filter((k) => k === "apps/v1/Deployment")).toHaveLength(SERVICES.length);
      expect(kinds.filter((k) => k === "policy/v1/PodDisruptionBudget")).toHaveLength(SERVICES.length);
      expect(kinds.filter((k) => k === "v1/Service")).toHaveLength(SERVICES.length);
      for (const kind of ["v1/ConfigMap", "v1/PersistentVolumeClaim", "route.openshift.io/v1/Route", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule"]) {
        expect(kinds, kind).toContain(kind);
      }
      expect(objects().flatMap(schemaErrors)).toEqual([]);
      // Secrets are referenced, never shipped: keys do not belong in a repository.
      expect(byKind(objects(), "Secret")).toEqual([]);
      if (overlay !== "base") for (const o of objects()) expect(o.metadata.namespace, idOf(o)).toBe(overlay === "prod" ? "atomic-ci" : "atomic-ci-dev");
    });

    it("has no field its kind does not know", () => {
      expect(unknownFieldErrors(objects())).toEqual([]);
    }, 60_000);

    it("runs each service from the one image, by argument, with probes, limits and a locked-down container", () => {
      const images = new Set<string>();
      for (const service of SERVICES) {
        const deployment = named(objects(), "Deployment", `atomic-ci-${service}`);
        if (!deployment) throw new Error(`no Deployment for ${service}`);
        const pod = podOf(deployment);
        const [container, ...others] = pod.spec.containers;
        expect(others, service).toEqual([]);
        if (!container) throw new Error(`${service} has no container`);
        images.add(container.image);
        expect(container.args, service).toEqual([service]);
        expect(container.ports?.find((p) => p.name === "health")?.containerPort, service).toBe(8080);
        expect(container.livenessProbe?.httpGet, service).toEqual({ path: "/live", port: "health" });
        expect(container.readinessProbe?.httpGet, service).toEqual({ path: "/ready", port: "health" });
        expect(pod.spec.securityContext?.runAsNonRoot, service).toBe(true);
        for (const c of [container, ...(pod.spec.initContainers ?? [])]) {
          expect(c.securityContext, `${service}/${c.name}`).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
          expect(Object.keys(c.resources?.requests ?? {}).sort(), `${service}/${c.name}`).toEqual(["cpu", "memory"]);
          expect(Object.keys(c.resources?.limits ?? {}).sort(), `${service}/${c.name}`).toEqual(["cpu", "memory"]);
        }
        const writableRoot = ["composer", "image-builder", "test-runner"].includes(service);
        // Two replicas of the long-running services in production (competing consumers).
        expect((deployment["spec"] as { replicas: number }).replicas, service).toBe(overlay === "prod" && writableRoot ? 2 : 1);
        expect(container.securityContext?.readOnlyRootFilesystem, service).toBe(!writableRoot);
        expect(container.env?.find((e) => e.name === "ATOMIC_CI_CONFIG")?.value, service).toBe(`/etc/atomic-ci/config/${service}.yaml`);
        // Its own broker client certificate: the CN is its RabbitMQ user.
        expect(pod.spec.volumes?.find((v) => v.name === "amqp-tls")?.secret?.secretName, service).toBe(`atomic-ci-${service}-amqp-tls`);

        const pdbs = byKind(objects(), "PodDisruptionBudget").filter((p) => selects((p["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, pod.metadata.labels));
        expect(pdbs.map((p) => p.metadata.name), service).toEqual([`atomic-ci-${service}`]);
        const services = byKind(objects(), "Service").filter((s) => selects((s["spec"] as { selector: Record<string, string> }).selector, pod.metadata.labels));
        expect(services.map((s) => s.metadata.name), service).toEqual([`atomic-ci-${service}`]);
      }
      expect([...images]).toEqual([{ base: "quay.io/atomic-ci/atomic-ci:latest", dev: "quay.io/atomic-ci/atomic-ci:main", prod: "quay.io/atomic-ci/atomic-ci:0.1.0" }[overlay]]);
      for (const d of byKind(objects(), "Deployment")) for (const c of podOf(d).spec.initContainers ?? []) expect(c.image, `${idOf(d)}/${c.name}`).toBe([...images][0]);
    });

    it("runs the services that make their own sandboxes in a user namespace under the nested-container SCC, and only them", () => {
      const sandboxing = ["composer", "image-builder", "test-runner"];
      for (const service of SERVICES) {
        const deployment = named(objects(), "Deployment", `atomic-ci-${service}`);
        if (!deployment) throw new Error(`no Deployment for ${service}`);
        const template = (deployment["spec"] as { template: { metadata: { annotations?: Record<string, string> }; spec: { hostUsers?: boolean; serviceAccountName?: string; containers: { securityContext?: { procMount?: string } }[] } } }).template;
        if (!sandboxing.includes(service)) {
          expect({ hostUsers: template.spec.hostUsers, sa: template.spec.serviceAccountName, scc: template.metadata.annotations?.["openshift.io/required-scc"] }, service).toEqual({ hostUsers: undefined, sa: undefined, scc: undefined });
          continue;
        }
        expect(template.spec.hostUsers, service).toBe(false);
        expect(template.metadata.annotations?.["openshift.io/required-scc"], service).toBe("nested-container");
        expect(template.spec.containers[0]?.securityContext?.procMount, service).toBe("Unmasked");
        // The service account exists, and a Role bound to it (and only to it) may `use` that SCC.
        const account = template.spec.serviceAccountName ?? "";
        expect(named(objects(), "ServiceAccount", account), service).toMatchObject({ automountServiceAccountToken: false });
        const bindings = byKind(objects(), "RoleBinding").filter((b) => (b["subjects"] as { kind: string; name: string }[]).some((s) => s.kind === "ServiceAccount" && s.name === account));
        const rules = bindings.flatMap((b) => ((named(objects(), "Role", (b["roleRef"] as { name: string }).name)?.["rules"] ?? []) as { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[]));
        expect(rules, service).toEqual([{ apiGroups: ["security.openshift.io"], resources: ["securitycontextconstraints"], resourceNames: ["nested-container"], verbs: ["use"] }]);
        for (const b of bindings) expect((b["subjects"] as unknown[]).length, idOf(b)).toBe(1);
      }
    });

    it("references only objects it has, and the Secrets ops create", () => {
      const secrets = new Set<string>();
      for (const deployment of byKind(objects(), "Deployment")) {
        const { spec } = podOf(deployment);
        for (const volume of spec.volumes ?? []) {
          if (volume.secret) secrets.add(volume.secret.secretName);
          if (volume.configMap) expect(named(objects(), "ConfigMap", volume.configMap.name), `${idOf(deployment)} volume ${volume.name}`).toBeDefined();
          if (volume.persistentVolumeClaim) expect(named(objects(), "PersistentVolumeClaim", volume.persistentVolumeClaim.claimName), idOf(deployment)).toBeDefined();
        }
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
          for (const source of c.envFrom ?? []) {
            if (source.configMapRef) expect(named(objects(), "ConfigMap", source.configMapRef.name), idOf(deployment)).toBeDefined();
            if (source.secretRef) secrets.add(source.secretRef.name);
          }
          for (const env of c.env ?? []) if (env.valueFrom?.secretKeyRef) secrets.add(env.valueFrom.secretKeyRef.name);
          for (const mount of c.volumeMounts ?? []) expect(spec.volumes?.map((v) => v.name), `${idOf(deployment)}/${c.name} mounts ${mount.name}`).toContain(mount.name);
        }
      }
      expect([...secrets].sort()).toEqual([...EXTERNAL_SECRETS].sort());

      for (const name of ["atomic-ci-gatekeeper", "atomic-ci-dashboard"]) {
        const route = named(objects(), "Route", name) as { spec: { to: { name: string }; port: { targetPort: string } } } & K8sObject;
        const target = named(objects(), "Service", route.spec.to.name) as { spec: { ports: { name: string }[] } } & K8sObject;
        expect(target.spec.ports.map((p) => p.name), name).toContain(route.spec.port.targetPort);
      }

      const monitor = byKind(objects(), "ServiceMonitor")[0] as { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } } & K8sObject;
      const scraped = byKind(objects(), "Service").filter((s) => selects(monitor.spec.selector.matchLabels, s.metadata.labels ?? {}));
      expect(scraped).toHaveLength(SERVICES.length);
      for (const s of scraped) expect((s["spec"] as { ports: { name: string }[] }).ports.map((p) => p.name)).toContain("health");
      expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: "health", path: "/metrics" })]);
    });

    it("gives every service a config file its own config schema accepts, with the deployment's env", async () => {
      const definitions = await serviceDefinitions();
      const config = byKind(objects(), "ConfigMap").find((c) => c.metadata.name.startsWith("atomic-ci-config")) as { data: Record<string, string> } & K8sObject;
      const envMap = byKind(objects(), "ConfigMap").find((c) => c.metadata.name.startsWith("atomic-ci-env")) as { data: Record<string, string> } & K8sObject;
      for (const service of SERVICES) {
        const file = join(work, `${overlay}-${service}.yaml`);
        const text = config.data[`${service}.yaml`];
        if (text === undefined) throw new Error(`no config file for ${service}`);
        await writeFile(file, text);
        const container = podOf(named(objects(), "Deployment", `atomic-ci-${service}`) as K8sObject).spec.containers[0] as Container;
        // What the pod's environment holds: the env ConfigMap, literal values, and stand-ins for secrets.
        const env: Record<string, string> = { ...envMap.data };
        for (const e of container.env ?? []) {
          if (e.value !== undefined) env[e.name] = e.value;
          else if (e.valueFrom?.secretKeyRef?.name === "atomic-ci-redis") env[e.name] = "redis://redis:6379";
          else if (e.valueFrom?.secretKeyRef?.name === "atomic-ci-publisher-gpg") env[e.name] = "0123456789ABCDEF0123456789ABCDEF01234567";
        }
        delete env["ATOMIC_CI_CONFIG"];
        const definition = definitions[service];
        if (!definition) throw new Error(`no definition for ${service}`);
        const loaded = loadConfig(definition.configSchema ?? (await import("@atomic-ci/runtime")).commonConfigSchema, { file, env, defaults: defaultConfigOf(definition) });
        expect(loaded.service).toBe(service);
        expect(loaded.bus.transport, service).toBe("amqp");
        expect(loaded.http.port, service).toBe(8080);
        expect(loaded.bus.amqp.tls).toEqual({ ca: "/etc/atomic-ci/amqp-tls/ca.crt", cert: "/etc/atomic-ci/amqp-tls/tls.crt", key: "/etc/atomic-ci/amqp-tls/tls.key" });
        if (overlay === "prod") expect(loaded.bus.topicPrefix).toBe("org.atomic-ci.prod");
        if (service === "publisher") {
          // Everything delivery needs is there: the key (imported by the init container), the gate, the policy.
          const publisher = (loaded as unknown as { publisher: { gpg: { homedir?: string; keyId?: string }; gatekeeperUrl?: string; definition: { repo?: string } } }).publisher;
          expect(publisher.gpg, service).toEqual({ homedir: "/var/lib/atomic-ci/gnupg", keyId: "0123456789ABCDEF0123456789ABCDEF01234567" });
          expect(publisher.gatekeeperUrl).toBe("http://atomic-ci-gatekeeper:8081/");
          expect(publisher.definition.repo).toMatch(/^https:\/\//);
          const pod = podOf(named(objects(), "Deployment", "atomic-ci-publisher") as K8sObject).spec;
          const init = pod.initContainers?.find((c) => c.name === "import-signing-key");
          expect(init?.command).toEqual(["gpg", "--batch", "--no-tty", "--homedir", publisher.gpg.homedir, "--import", "/etc/atomic-ci/gpg/signing-key.asc"]);
        }
        // Paths the service writes are on its volumes (or /tmp), never in the image.
        const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
        for (const path of writtenPaths(loaded)) expect(mounts.some((m) => path === m || path.startsWith(`${m}/`)), `${service}: ${path} is on a volume`).toBe(true);
      }
    });

    it("alerts on consumer readiness, dead-letter growth, ungated age and publish failures, with metrics that exist", () => {
      const rule = byKind(objects(), "PrometheusRule")[0] as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } } & K8sObject;
      const rules = rule.spec.groups.flatMap((g) => g.rules);
      const alerts = rules.map((r) => r.alert);
      for (const alert of ["AtomicCiConsumerNotReady", "AtomicCiDeadLetterGrowth", "AtomicCiOldestUngatedChangeTooOld", "AtomicCiPublishFailures"]) expect(alerts).toContain(alert);
      const registry = new Registry();
      createMetrics(registry);
      collectProcessMetrics(registry);
      const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
      for (const r of rules) {
        for (const name of r.expr.match(/\batomic_ci_[a-z0-9_]+/g) ?? []) {
          const base = name.replace(/_(bucket|sum|count)$/, "");
          expect(exported.has(name) || exported.has(base), `${r.alert} uses ${name}`).toBe(true);
        }
      }
    });
  });
}

describe("the checks themselves", () => {
  const deployment = () => structuredClone(named(built["prod"] ?? [], "Deployment", "atomic-ci-composer") as K8sObject);

  it("refuses objects that break their schema", () => {
    const bad = deployment();
    const spec = bad["spec"] as { replicas: unknown; template: { spec: { containers: Record<string, unknown>[] } } };
    spec.replicas = "two";
    delete spec.template.spec.containers[0]?.["name"];
    const errors = schemaErrors(bad);
    expect(errors.join("\n")).toMatch(/spec\/replicas must be integer/);
    expect(errors.join("\n")).toMatch(/containers\/0 must have required property '?name'?/);

    const route = structuredClone(named(built["prod"] ?? [], "Route", "atomic-ci-gatekeeper") as K8sObject);
    (route["spec"] as { tls: { termination: string } }).tls.termination = "edgy";
    expect(schemaErrors(route).join("\n")).toMatch(/tls\/termination must be equal to one of the allowed values/);
    const rule = structuredClone(byKind(built["prod"] ?? [], "PrometheusRule")[0] as K8sObject);
    delete (rule["spec"] as { groups: { rules: Record<string, unknown>[] }[] }).groups[0]?.rules[0]?.["expr"];
    expect(schemaErrors(rule).join("\n")).toMatch(/must have required property '?expr'?/);
    expect(schemaErrors({ apiVersion: "extensions/v1beta1", kind: "Ingress", metadata: { name: "old" } })).toEqual(["Ingress/old: no schema for extensions/v1beta1/Ingress (not a kind the manifests may use)"]);
  });

  it("refuses misspelt and misplaced fields (the first one of each object)", () => {
    const misspelt = deployment();
    const container = (misspelt["spec"] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0] ?? {};
    container["readinessProbee"] = container["readinessProbe"];
    const misplaced = deployment();
    (misplaced["spec"] as Record<string, unknown>)["securityContext"] = { runAsNonRoot: true };
    const errors = unknownFieldErrors([misspelt, misplaced]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^Deployment\/atomic-ci-composer: .*'"readinessProbee"' does not exist in type 'IContainer'/);
    expect(errors[1]).toMatch(/^Deployment\/atomic-ci-composer: .*'"securityContext"' does not exist in type 'I(IoK8sApiAppsV1)?DeploymentSpec'/);
  }, 60_000);

  it("fails the build of an overlay whose patch or resource is broken", async () => {
    const copy = join(work, "openshift");
    await cp(OPENSHIFT_DIR, copy, { recursive: true });
    const kustomization = join(copy, "overlays", "prod", "kustomization.yaml");
    const text = await readFile(kustomization, "utf8");
    await writeFile(kustomization, text.replace("  - ../../base\n", "  - ../../base\n  - missing.yaml\n"));
    await expect(kustomize(join(copy, "overlays", "prod"))).rejects.toThrow(/missing\.yaml/);
    await writeFile(kustomization, text.replace("path: /spec/resources/requests/storage", "path: /spec/resources/requests/storage/deeper"));
    await expect(kustomize(join(copy, "overlays", "prod"))).rejects.toThrow();
  });
});

describe("deploy/Containerfile", () => {
  it("is Fedora-based with the tools the services drive, and runs the service named by its argument", async () => {
    const text = await readFile(new URL("../../deploy/Containerfile", import.meta.url), "utf8");
    const stages = text.split(/^FROM /m).slice(1);
    const runtime = stages[stages.length - 1] ?? "";
    expect(runtime).toMatch(/^registry\.fedoraproject\.org\/fedora:\d+/);
    const install = /dnf -y install([^&]*)&&/s.exec(runtime)?.[1]?.split(/[\s\\]+/) ?? [];
    for (const pkg of ["ostree", "dnf", "rpm", "createrepo_c", "qemu-img", "e2fsprogs", "bubblewrap", "git-core", "gnupg2"]) expect(install, pkg).toContain(pkg);
    expect(runtime).toContain('ENTRYPOINT ["/app/node_modules/.bin/tsx", "/app/cli/src/main.ts", "serve"]');
    expect(runtime).toMatch(/^USER 1001$/m);
  });
});

/** Each service's definition (its config schema and default bindings), from its package. */
type Definition = Pick<ServiceDefinition, "name" | "bindings" | "configSchema">;

async function serviceDefinitions(): Promise<Record<string, Definition>> {
  const env = { PATH: "/usr/bin:/bin" };
  return {
    "trigger-listener": (await import("@atomic-ci/trigger-listener")).createTriggerListenerService(),
    composer: (await import("@atomic-ci/composer")).createComposerService({ env }),
    "image-builder": (await import("@atomic-ci/image-builder")).createImageBuilderService({ env }),
    "test-runner": (await import("@atomic-ci/test-runner")).createTestRunnerService({ env }),
    gatekeeper: (await import("@atomic-ci/gatekeeper")).createGatekeeperService({ env }),
    publisher: (await import("@atomic-ci/publisher")).createPublisherService({ env }),
    dashboard: (await import("@atomic-ci/dashboard")).createDashboardService(),
  };
}

/** Directories a service writes, from its loaded config. */
function writtenPaths(config: Record<string, unknown>): string[] {
  const paths: string[] = [];
  const sections = ["composer", "imageBuilder", "testRunner", "publisher", "gatekeeper"] as const;
  for (const section of sections) {
    const s = config[section] as Record<string, unknown> | undefined;
    if (!s) continue;
    for (const key of ["workDir", "ostreeRepo", "outDir", "publicDir"]) if (typeof s[key] === "string") paths.push(s[key]);
    for (const sub of ["definition", "gpg", "distGit", "policies"]) {
      const nested = s[sub] as Record<string, unknown> | undefined;
      for (const key of ["mirrorDir", "homedir"]) if (typeof nested?.[key] === "string") paths.push(nested[key]);
    }
  }
  return paths;
}
