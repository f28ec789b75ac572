// How test/deploy/manifests.test.ts builds and validates deploy/openshift: kustomize (the
// real one, `kubectl kustomize`), then every object against the JSON schema of its kind, then
// unknown fields through TypeScript's excess-property check against the same models' types.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Ajv } from "ajv";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import ts from "typescript";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

export const OPENSHIFT_DIR = fileURLToPath(new URL("../../deploy/openshift/", import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export const keyOf = (o: Pick<K8sObject, "apiVersion" | "kind">): string => `${o.apiVersion}/${o.kind}`;
export const idOf = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

/** `kubectl kustomize <dir>`: the kustomize kubectl embeds (v5), offline. */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run("kubectl", ["kustomize", dir], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  return parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize output is not YAML: ${doc.errors[0]?.message ?? ""}`);
    return doc.toJS() as K8sObject;
  });
}

type Validate = (object: K8sObject) => void;
const model =
  (Model: new (data: never) => { validate(): void }): Validate =>
  (object) => {
    new Model(object as never).validate();
  };

const routeSchema = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "schemas", "route.openshift.io-v1-Route.json"), "utf8")) as object;
const validateRoute = new Ajv({ allErrors: true, strict: true, strictTypes: false }).compile(routeSchema);

/**
 * The kinds the manifests may use, each with its schema: Kubernetes' own (kubernetes-models,
 * generated from the Kubernetes OpenAPI spec), the Prometheus Operator's CRDs
 * (@kubernetes-models/prometheus-operator) and OpenShift's Route (vendored from openshift/api).
 */
export const VALIDATORS: Readonly<Record<string, Validate>> = {
  "apps/v1/Deployment": model(Deployment),
  "v1/Service": model(Service),
  "v1/ConfigMap": model(ConfigMap),
  "v1/Secret": model(Secret),
  "v1/PersistentVolumeClaim": model(PersistentVolumeClaim),
  "v1/ServiceAccount": model(ServiceAccount),
  "rbac.authorization.k8s.io/v1/Role": model(Role),
  "rbac.authorization.k8s.io/v1/RoleBinding": model(RoleBinding),
  "policy/v1/PodDisruptionBudget": model(PodDisruptionBudget),
  "monitoring.coreos.com/v1/ServiceMonitor": model(ServiceMonitor),
  "monitoring.coreos.com/v1/PrometheusRule": model(PrometheusRule),
  "route.openshift.io/v1/Route": (object) => {
    if (!validateRoute(object)) {
      throw new Error((validateRoute.errors ?? []).map((e) => `data${e.instancePath} ${e.message ?? ""}`).join(", "));
    }
  },
};

/** Schema violations of one object (unknown kind included), as `Kind/name: message`. */
export function schemaErrors(object: K8sObject): string[] {
  const validate = VALIDATORS[keyOf(object)];
  if (!validate) return [`${idOf(object)}: no schema for ${keyOf(object)} (not a kind the manifests may use)`];
  try {
    validate(object);
    return [];
  } catch (err) {
    return [`${idOf(object)}: ${(err as Error).message}`];
  }
}

/** The TypeScript interface of each kind the unknown-field check covers (Route: its JSON schema is strict). */
const TYPES: Readonly<Record<string, { from: string; type: string }>> = {
  "apps/v1/Deployment": { from: "kubernetes-models/apps/v1/Deployment", type: "IDeployment" },
  "v1/Service": { from: "kubernetes-models/v1/Service", type: "IService" },
  "v1/ConfigMap": { from: "kubernetes-models/v1/ConfigMap", type: "IConfigMap" },
  "v1/Secret": { from: "kubernetes-models/v1/Secret", type: "ISecret" },
  "v1/PersistentVolumeClaim": { from: "kubernetes-models/v1/PersistentVolumeClaim", type: "IPersistentVolumeClaim" },
  "v1/ServiceAccount": { from: "kubernetes-models/v1/ServiceAccount", type: "IServiceAccount" },
  "rbac.authorization.k8s.io/v1/Role": { from: "kubernetes-models/rbac.authorization.k8s.io/v1/Role", type: "IRole" },
  "rbac.authorization.k8s.io/v1/RoleBinding": { from: "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding", type: "IRoleBinding" },
  "policy/v1/PodDisruptionBudget": { from: "kubernetes-models/policy/v1/PodDisruptionBudget", type: "IPodDisruptionBudget" },
  "monitoring.coreos.com/v1/ServiceMonitor": { from: "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", type: "IServiceMonitor" },
  "monitoring.coreos.com/v1/PrometheusRule": { from: "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", type: "IPrometheusRule" },
};

/**
 * Fields the schemas do not know (a misspelt `readinessProbe`, a key at the wrong level): the
 * generated JSON schemas allow additional properties, as the Kubernetes OpenAPI spec does, but
 * an API server drops such fields silently. Each object becomes an object literal checked with
 * `satisfies I<Kind>`, whose excess-property check reports them, nested ones included.
 */
export function unknownFieldErrors(objects: readonly K8sObject[]): string[] {
  const checked = objects.map((o, i) => ({ o, i, t: TYPES[keyOf(o)] })).filter((c) => c.t !== undefined);
  const imports = [...new Set(checked.map((c) => `import type { ${c.t?.type ?? ""} } from "${c.t?.from ?? ""}";`))];
  const lines = [...imports, ...checked.map((c) => `export const o${c.i} = ${JSON.stringify(c.o)} satisfies ${c.t?.type ?? ""};`)];
  // A virtual file beside this one, so the packages resolve from test/node_modules.
  const fileName = join(dirname(fileURLToPath(import.meta.url)), "__manifests_check__.ts");
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const source = ts.createSourceFile(fileName, lines.join("\n"), ts.ScriptTarget.ES2022, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, ...rest) => (name === fileName ? source : getSourceFile(name, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (d.file?.fileName !== fileName || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const statement = lines[line] ?? "";
    const index = /^export const o(\d+) /.exec(statement)?.[1];
    const object = index === undefined ? undefined : objects[Number(index)];
    return `${object ? idOf(object) : "(imports)"}: ${text}`;
  });
}
