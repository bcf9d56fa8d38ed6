import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_SCHEMA, loadAll } from 'js-yaml';

/** A Kubernetes object as written in a manifest. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  components?: string[];
  /** What `kustomize edit set image` writes. */
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

interface Component {
  patches?: { target: { kind: string; name: string }; patch: string }[];
}

const CLUSTER_SCOPED = new Set(['Namespace']);

const readYaml = (path: string): unknown[] =>
  loadAll(readFileSync(path, 'utf8'), null, { schema: CORE_SCHEMA }).filter(
    (doc) => doc !== null && doc !== undefined,
  );

/**
 * What `kubectl apply -k <dir>` would send, for the subset of kustomize our manifests use: the
 * `resources` files (several documents each), `namespace` on namespaced objects, `components`
 * (here and in `extraComponents`) holding JSON 6902 patches with `add`, and `images`. Anything
 * else in the kustomization throws, so the test never silently renders less than kubectl would.
 */
export function renderKustomization(dir: string, extraComponents: string[] = []): KubeObject[] {
  const kustomization = readYaml(join(dir, 'kustomization.yaml'))[0] as Kustomization;
  const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'images']);
  const unknown = Object.keys(kustomization).filter((key) => !known.has(key));
  if (unknown.length > 0)
    throw new Error(`the test renderer does not handle ${unknown.join(', ')}`);
  const objects = (kustomization.resources ?? []).flatMap(
    (file) => readYaml(join(dir, file)) as KubeObject[],
  );
  for (const object of objects) {
    if (kustomization.namespace && !CLUSTER_SCOPED.has(object.kind)) {
      object.metadata.namespace = kustomization.namespace;
    }
  }
  for (const component of [...(kustomization.components ?? []), ...extraComponents]) {
    const { patches = [] } = readYaml(join(dir, component, 'kustomization.yaml'))[0] as Component;
    for (const { target, patch } of patches) {
      const object = objects.find((o) => o.kind === target.kind && o.metadata.name === target.name);
      if (!object) throw new Error(`${component}: no ${target.kind} ${target.name} to patch`);
      for (const op of (loadAll(patch)[0] as JsonPatchOp[]) ?? []) applyAdd(object, op);
    }
  }
  for (const image of kustomization.images ?? []) setImage(objects, image);
  return objects;
}

/** kustomize's `images` transformer, for the containers of Deployments. */
function setImage(
  objects: KubeObject[],
  image: NonNullable<Kustomization['images']>[number],
): void {
  for (const object of objects.filter((o) => o.kind === 'Deployment')) {
    const spec = object.spec as { template: { spec: { containers: { image: string }[] } } };
    for (const container of spec.template.spec.containers) {
      const [name = '', tag] = container.image.split(':');
      if (name !== image.name) continue;
      const suffix = image.digest ? `@${image.digest}` : `:${image.newTag ?? tag}`;
      container.image = `${image.newName ?? name}${suffix}`;
    }
  }
}

function applyAdd(object: KubeObject, { op, path, value }: JsonPatchOp): void {
  if (op !== 'add') throw new Error(`the test renderer applies only "add" patches, not ${op}`);
  const keys = path.split('/').slice(1);
  const last = keys.pop()!;
  let node = object as Record<string, unknown>;
  for (const key of keys) {
    if (typeof node[key] !== 'object' || node[key] === null) throw new Error(`no ${path}`);
    node = node[key] as Record<string, unknown>;
  }
  node[last] = value;
}

/** The model package of each API group/version our manifests use. */
const MODELS: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'traefik.io/v1alpha1': '@kubernetes-models/traefik/traefik.io/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/** Validates the objects given on stdin; the model packages are ES modules only, Jest runs CJS. */
const VALIDATOR = `
import { readFileSync } from 'node:fs';
const models = ${JSON.stringify(MODELS)};
const results = [];
for (const object of JSON.parse(readFileSync(0, 'utf8'))) {
  const id = object.kind + '/' + object.metadata?.name;
  const path = models[object.apiVersion];
  const Model = path && (await import(path))[object.kind];
  if (!Model) { results.push({ id, error: 'no schema for ' + object.apiVersion + ' ' + object.kind }); continue; }
  try { new Model(object).validate(); results.push({ id }); }
  catch (error) { results.push({ id, error: error.message }); }
}
process.stdout.write(JSON.stringify(results));
`;

export interface SchemaResult {
  id: string;
  error?: string;
}

/**
 * Each object checked against the JSON schema of its kind, from the `kubernetes-models` packages
 * (Kubernetes 1.x core, Traefik's and the Prometheus Operator's CRDs). Like kubectl's client-side
 * validation without `--validate=strict`, unknown fields are not reported.
 */
export function validateAgainstSchemas(objects: KubeObject[], cwd: string): SchemaResult[] {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', VALIDATOR], {
    cwd,
    input: JSON.stringify(objects),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`schema validation failed to run:\n${result.stderr}`);
  return JSON.parse(result.stdout) as SchemaResult[];
}
