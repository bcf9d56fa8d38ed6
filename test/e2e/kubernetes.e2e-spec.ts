import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerBinary } from '@app/testing';
import { CORE_SCHEMA, load } from 'js-yaml';
import { loadConfig } from '../../src/config';
import { schemaDefaults } from '../support/env-schema';
import {
  renderKustomization,
  validateAgainstSchemas,
  type KubeObject,
} from '../support/kubernetes';
import { at, item } from '../support/tree';

/**
 * deploy/kubernetes without a cluster: the kustomization rendered as kubectl would, every object
 * validated against its Kubernetes / Traefik / Prometheus Operator schema, and the settings that
 * matter for this service asserted (probes, drain, security, scaling, stickiness). The NATS Helm
 * values' server config is checked by nats-server itself.
 */

const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'deploy', 'kubernetes');
const SECRET_NAME = 'realtime-secrets';
/** Variables the pod gets that the env schema does not list, and why. */
const NOT_IN_SCHEMA: Record<string, string> = {
  NATS_USER: 'broker credentials, CONTRACT.md "Broker security"',
  NATS_PASSWORD: 'broker credentials, CONTRACT.md "Broker security"',
  NODE_OPTIONS: "Node's own: diagnostics to the writable /tmp",
  NATS_TLS_CA_FILE: 'broker TLS, CONTRACT.md "Broker security"',
};

/** Variables naming a file mounted into the pod: the service reads them at start-up. */
const FILES_IN_POD = ['NATS_TLS_CA_FILE'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown };
}

const num = (tree: unknown, path: string): number => Number(at(tree, path));
const cpu = (v: string): number => (v.endsWith('m') ? Number(v.slice(0, -1)) / 1000 : Number(v));
const mebibytes = (v: string): number => {
  const [, n = 'NaN', unit] = /^(\d+)(Mi|Gi)$/.exec(v) ?? [];
  return Number(n) * (unit === 'Gi' ? 1024 : 1);
};

describe('deploy/kubernetes', () => {
  const objects = renderKustomization(DIR);
  const find = (kind: string, name = 'realtime'): KubeObject => {
    const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!object) throw new Error(`no ${kind} ${name} in the kustomization`);
    return object;
  };
  const deployment = find('Deployment');
  const pod = at(deployment, 'spec.template.spec');
  const container = at(pod, 'containers.0');
  const env = new Map((at(container, 'env') as EnvVar[]).map((e) => [e.name, e]));
  const service = find('Service');
  const servicePort = String(at(service, 'spec.ports.0.name'));
  const schema = schemaDefaults();
  const drainWindowMs = Number(env.get('DRAIN_WINDOW_MS')?.value ?? schema.get('DRAIN_WINDOW_MS'));
  const idOf = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;

  it('renders every kind the brief asks for, in one namespace', () => {
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Namespace',
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'HorizontalPodAutoscaler',
        'IngressRoute',
        'Middleware',
        'ServiceMonitor',
      ]),
    );
    const namespace = find('Namespace').metadata.name;
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect({ id: idOf(object), namespace: object.metadata.namespace }).toEqual({
        id: idOf(object),
        namespace,
      });
    }
  });

  it('validates every object against its schema', () => {
    expect(validateAgainstSchemas(objects, ROOT)).toEqual(objects.map((o) => ({ id: idOf(o) })));
  });

  it('has a schema check that rejects a broken object (the check can fail)', () => {
    const broken = JSON.parse(JSON.stringify(deployment)) as KubeObject;
    (at(broken, 'spec') as Record<string, unknown>).replicas = 'two';
    const [result] = validateAgainstSchemas([broken], ROOT);
    expect(result?.error).toMatch(/replicas must be integer/);
  });

  it('runs at least two replicas, probed on /health/ready and /health/live', () => {
    expect(num(deployment, 'spec.replicas')).toBeGreaterThanOrEqual(2);
    expect(item(at(container, 'ports'), 'name', 'http').containerPort).toBe(
      Number(env.get('PORT')?.value),
    );
    expect(at(container, 'readinessProbe.httpGet')).toEqual({
      path: '/health/ready',
      port: 'http',
    });
    expect(at(container, 'livenessProbe.httpGet')).toEqual({ path: '/health/live', port: 'http' });
    // A draining pod leaves the endpoints (and Traefik) long before its drain window ends.
    const readinessMs =
      num(container, 'readinessProbe.periodSeconds') *
      num(container, 'readinessProbe.failureThreshold') *
      1000;
    expect(readinessMs).toBeLessThanOrEqual(drainWindowMs / 2);
    // Rollouts keep capacity: a new pod is ready before an old one drains.
    expect(at(deployment, 'spec.strategy.rollingUpdate')).toEqual({
      maxSurge: 1,
      maxUnavailable: 0,
    });
  });

  it('waits longer than the drain before SIGKILL', () => {
    // The drain window, up to 5 s for requests in flight, then the NATS flush.
    expect(num(pod, 'terminationGracePeriodSeconds') * 1000).toBeGreaterThanOrEqual(
      drainWindowMs + 5000,
    );
  });

  it('runs as non-root on a read-only root filesystem, writing only to an emptyDir', () => {
    expect(at(pod, 'securityContext.runAsNonRoot')).toBe(true);
    expect(num(pod, 'securityContext.runAsUser')).toBeGreaterThan(0);
    expect(at(pod, 'securityContext.seccompProfile.type')).toBe('RuntimeDefault');
    expect(at(container, 'securityContext')).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    // Writable mounts are emptyDirs; anything else (the NATS CA) is mounted read-only.
    for (const mount of at(container, 'volumeMounts') as { name: string; readOnly?: boolean }[]) {
      const volume = item(at(pod, 'volumes'), 'name', mount.name);
      expect({
        mount: mount.name,
        writable: volume.emptyDir !== undefined || !mount.readOnly,
      }).toEqual({
        mount: mount.name,
        writable: volume.emptyDir !== undefined,
      });
    }
    expect(find('Namespace').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  it('requests and limits CPU and memory', () => {
    const resource = (path: string): string => String(at(container, `resources.${path}`));
    expect(cpu(resource('requests.cpu'))).toBeGreaterThan(0);
    expect(cpu(resource('limits.cpu'))).toBeGreaterThanOrEqual(cpu(resource('requests.cpu')));
    expect(mebibytes(resource('requests.memory'))).toBeGreaterThan(0);
    expect(mebibytes(resource('limits.memory'))).toBeGreaterThanOrEqual(
      mebibytes(resource('requests.memory')),
    );
  });

  it('takes secrets from the Secret only, and an environment the service accepts', () => {
    const fromSecret = [...env.values()].filter((e) => e.valueFrom?.secretKeyRef);
    expect(fromSecret.map((e) => e.name).sort()).toEqual(['JWT_SECRET', 'NATS_PASSWORD']);
    for (const e of fromSecret) expect(e.valueFrom?.secretKeyRef?.name).toBe(SECRET_NAME);
    const unknown = [...env.keys()].filter((name) => !schema.has(name) && !(name in NOT_IN_SCHEMA));
    expect(unknown).toEqual([]);
    // What the pod gets, with the Secret's and the downward API's values filled in; files that
    // exist only in the pod (the NATS CA, see the TLS test) are left out.
    const resolved = Object.fromEntries(
      [...env.values()]
        .filter((e) => !FILES_IN_POD.includes(e.name))
        .map((e) => [e.name, e.value ?? `${e.name.toLowerCase()}-${'x'.repeat(40)}`]),
    );
    const config = loadConfig(resolved);
    expect(config).toMatchObject({ env: 'production', history: { replicas: 3 } });
    expect(config.natsServers.length).toBeGreaterThan(0);
  });

  it('exposes the pods through a Service that selects them', () => {
    const selector = at(service, 'spec.selector') as Record<string, string>;
    expect(at(deployment, 'spec.selector.matchLabels')).toEqual(selector);
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject(selector);
    expect(at(service, 'spec.ports')).toEqual([
      expect.objectContaining({ name: 'http', targetPort: 'http' }),
    ]);
  });

  it('keeps all but one replica through voluntary disruptions', () => {
    const pdb = find('PodDisruptionBudget');
    expect(at(pdb, 'spec.selector.matchLabels')).toEqual(at(service, 'spec.selector'));
    expect(at(pdb, 'spec.maxUnavailable')).toBe(1);
  });

  it('scales the Deployment on CPU, from two replicas, and scales in slowly', () => {
    const hpa = find('HorizontalPodAutoscaler');
    expect(at(hpa, 'spec.scaleTargetRef')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(num(hpa, 'spec.minReplicas')).toBeGreaterThanOrEqual(2);
    expect(num(hpa, 'spec.maxReplicas')).toBeGreaterThan(num(hpa, 'spec.minReplicas'));
    expect(at(hpa, 'spec.metrics')).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: expect.objectContaining({ type: 'Utilization' }) },
      },
    ]);
    // Scaling in drains a replica: its clients all reconnect elsewhere, so one at a time.
    expect(num(hpa, 'spec.behavior.scaleDown.stabilizationWindowSeconds')).toBeGreaterThanOrEqual(
      60,
    );
    expect(at(hpa, 'spec.behavior.scaleDown.policies')).toEqual([
      { type: 'Pods', value: 1, periodSeconds: 60 },
    ]);
  });

  it('routes /ws and REST through Traefik with the sticky cookie, and keeps /metrics private', () => {
    const routes = at(find('IngressRoute'), 'spec.routes');
    const ws = item(routes, 'match', 'Path(`/ws`)');
    const api = item(routes, 'match', 'PathPrefix(`/`)');
    const metrics = item(routes, 'match', 'Path(`/metrics`)');
    expect(num(ws, 'priority')).toBeGreaterThan(num(api, 'priority'));
    expect(num(metrics, 'priority')).toBeGreaterThan(num(api, 'priority'));
    for (const route of [ws, api]) {
      expect(route.services).toEqual([
        {
          name: service.metadata.name,
          port: servicePort,
          // The same cookie as compose's Traefik labels and HAProxy (deploy-config.e2e-spec.ts).
          sticky: { cookie: { name: 'rt_replica', httpOnly: true, secure: true, sameSite: 'lax' } },
        },
      ]);
    }
    const middleware = find('Middleware', String(at(metrics, 'middlewares.0.name')));
    expect(at(middleware, 'spec.ipAllowList.sourceRange')).toEqual(['127.0.0.1/32']);
  });

  it('has Prometheus scrape every pod’s /metrics through the Service', () => {
    const monitor = find('ServiceMonitor');
    expect(service.metadata.labels).toMatchObject(
      at(monitor, 'spec.selector.matchLabels') as Record<string, string>,
    );
    expect(at(monitor, 'spec.endpoints')).toEqual([
      expect.objectContaining({ port: servicePort, path: '/metrics' }),
    ]);
  });

  it('has an opt-in component that raises net.core.somaxconn, still valid', () => {
    const patched = renderKustomization(DIR, ['components/somaxconn']).find(
      (o) => o.kind === 'Deployment',
    )!;
    expect(at(patched, 'spec.template.spec.securityContext.sysctls')).toEqual([
      { name: 'net.core.somaxconn', value: '4096' },
    ]);
    expect(validateAgainstSchemas([patched], ROOT)).toEqual([{ id: 'Deployment/realtime' }]);
    // The base stays within Pod Security "restricted", which refuses that sysctl.
    expect(at(pod, 'securityContext')).not.toHaveProperty('sysctls');
  });

  describe('NATS Helm values', () => {
    const values = load(readFileSync(join(DIR, 'nats-values.yaml'), 'utf8'), {
      schema: CORE_SCHEMA,
    });
    const merge = at(values, 'config.merge') as Record<string, unknown>;
    const users = at(merge, 'authorization.users');
    const serverEnv = at(values, 'container.env') as Record<string, unknown>;

    it('runs three nodes with JetStream on file storage, enough for the history replicas', () => {
      expect(at(values, 'config.cluster')).toEqual({ enabled: true, replicas: 3 });
      expect(at(values, 'config.jetstream.enabled')).toBe(true);
      expect(at(values, 'config.jetstream.fileStore')).toMatchObject({
        enabled: true,
        pvc: { enabled: true },
      });
      expect(Number(env.get('HISTORY_REPLICAS')?.value)).toBeLessThanOrEqual(
        num(values, 'config.cluster.replicas'),
      );
    });

    it('gives replicas and publishers least-privilege users, passwords from the Secret', () => {
      const replica = item(users, 'user', 'replica');
      const publisher = item(users, 'user', 'publisher');
      const sorted = (path: string, of: unknown) => [...(at(of, path) as string[])].sort();
      expect(sorted('permissions.publish.allow', replica)).toEqual(
        [
          '$JS.ACK.>',
          '$JS.API.>',
          '$KV.>',
          'cluster.>',
          'presence.>',
          'rt.>',
          'webhooks.events',
        ].sort(),
      );
      expect(sorted('permissions.subscribe.allow', replica)).toEqual(
        [
          '_INBOX.>',
          'cluster.>',
          'live.>',
          'notifications.publish',
          'notifications.push',
          'presence.>',
          'rooms.history',
          'rooms.publish',
          'users.disconnect',
        ].sort(),
      );
      // Publishers cannot read live.> nor store around the service (rt.>).
      expect(at(publisher, 'permissions')).toEqual({
        publish: {
          allow: [
            'notifications.push',
            'notifications.publish',
            'rooms.publish',
            'rooms.history',
            'users.disconnect',
          ],
        },
        subscribe: { allow: ['_INBOX.>'] },
      });
      // The Deployment signs in as `replica` with the password the server reads from the Secret.
      expect(env.get('NATS_USER')?.value).toBe('replica');
      const variable = /^<< \$(\w+) >>$/.exec(String(replica.password))?.[1] ?? '';
      expect(at(serverEnv, `${variable}.valueFrom.secretKeyRef`)).toEqual(
        env.get('NATS_PASSWORD')?.valueFrom?.secretKeyRef,
      );
    });

    it('requires TLS from clients, and the replicas verify it with the servers’ CA', () => {
      expect(at(values, 'config.nats.tls')).toEqual({ enabled: true, secretName: 'nats-tls' });
      expect(env.get('NATS_URL')?.value).toMatch(/^tls:\/\/nats:4222$/);
      const caFile = String(env.get('NATS_TLS_CA_FILE')?.value);
      const mount = (at(container, 'volumeMounts') as { name: string; mountPath: string }[]).find(
        (m) => caFile.startsWith(`${m.mountPath}/`),
      );
      const volume = item(at(pod, 'volumes'), 'name', mount?.name);
      // The CA only: the servers' private key is not projected into the replicas.
      expect(at(volume, 'secret')).toEqual({
        secretName: 'nats-tls',
        items: [{ key: 'ca.crt', path: caFile.slice(mount!.mountPath.length + 1) }],
      });
    });

    it('merges into a server config that nats-server accepts', () => {
      // The chart writes config.merge as JSON into nats.conf, `<< … >>` unwrapped as is.
      const conf = JSON.stringify({ port: 4222, ...merge }, null, 2).replace(
        /"<< (.*?) >>"/g,
        '$1',
      );
      const dir = mkdtempSync(join(tmpdir(), 'nats-values-'));
      try {
        writeFileSync(join(dir, 'nats.conf'), conf);
        const passwords = Object.fromEntries(
          Object.keys(serverEnv).map((name) => [name, `${name.toLowerCase()}-secret`]),
        );
        const result = spawnSync(natsServerBinary(), ['-t', '-c', join(dir, 'nats.conf')], {
          encoding: 'utf8',
          env: { ...process.env, ...passwords },
        });
        expect(`${result.stdout}${result.stderr}`).toContain('is valid');
        expect(result.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
