import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { loadConfig } from '../../src/config';
import { schemaDefaults } from '../support/env-schema';
import { at } from '../support/tree';

/**
 * Static checks of the deployment files: no Docker engine or Traefik runs here, so what matters in
 * them is read and asserted (the same policy runs for real in haproxy.e2e-spec.ts). They fail when
 * the compose file, Traefik's two variants, .env.example and the env schema drift apart.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

type Yaml = Record<string, unknown>;
const loadYaml = (path: string): Yaml =>
  load(read(path), { schema: CORE_SCHEMA.withTags(mergeTag) }) as Yaml;

/**
 * Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}` and `$$`. Throws the error text as compose would refuse to start.
 */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole, name: string | undefined, colon: string, op: string | undefined, arg: string) => {
      if (whole === '$$') return '$';
      const value = env[name!];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '-') return missing ? arg : value;
      if (op === '?' && missing) throw new Error(`${name}: ${arg}`);
      return value ?? '';
    },
  );
}

/** Every `${VAR…}` referenced in a text. */
const variablesIn = (text: string): Set<string> =>
  new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));

/** `2s`, `500ms`, `1h`, or bare seconds (Traefik, compose) → milliseconds. */
function durationMs(value: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value));
  if (!match) throw new Error(`not a duration: ${String(value)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'];
  return Number(match[1]) * (unit ?? 1000);
}

/** Not in the compose service's environment, on purpose. */
const NOT_IN_COMPOSE: Record<string, string> = {
  REPLICA_ID: 'must differ per container: the default (host name + pid) does that',
  JWT_PUBLIC_KEY: 'compose runs with JWT_SECRET; a public-key deployment edits that line',
  JWT_PRIVATE_KEY: 'only `npm run token` signs with it; the service must never hold it',
};

/** Compose defaults that differ from the schema's development defaults, on purpose. */
const PRODUCTION_DEFAULTS: Record<string, string> = {
  NODE_ENV: 'production',
  NATS_URL: 'nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222',
  HISTORY_REPLICAS: '3',
  LOG_LEVEL: 'info',
  JWT_ISSUER: '',
  JWT_AUDIENCE: '',
  WEBHOOK_URL: '',
  WEBHOOK_SECRET: '',
};

const JWT_SECRET = 'x'.repeat(40);

describe('deployment files', () => {
  const composeText = read('docker-compose.yml');
  const compose = loadYaml('docker-compose.yml');
  const services = at(compose, 'services') as Record<string, Yaml>;
  const realtime = services.realtime!;
  const rawEnv = at(realtime, 'environment') as Record<string, string>;
  /** The service's environment as compose resolves it from an .env holding only JWT_SECRET. */
  const env = Object.fromEntries(
    Object.entries(rawEnv).map(([k, v]) => [k, interpolate(String(v), { JWT_SECRET })]),
  );
  const labels = Object.fromEntries(
    Object.entries(at(realtime, 'labels') as Record<string, string>).map(([k, v]) => [
      k,
      interpolate(String(v), {}),
    ]),
  );
  const schema = schemaDefaults();
  const drainWindowMs = Number(env.DRAIN_WINDOW_MS);
  const natsNodes = Object.keys(services).filter((name) => /^nats-\d+$/.test(name));

  describe('Dockerfile', () => {
    // Instructions with continuation lines joined and comments dropped.
    const instructions = read('Dockerfile')
      .replace(/\\\r?\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => {
        const [keyword = '', ...rest] = line.split(/\s+/);
        return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
      });
    const stages: { name: string; lines: typeof instructions }[] = [];
    for (const line of instructions) {
      if (line.keyword === 'FROM') {
        stages.push({ name: /\bAS\s+(\S+)/i.exec(line.args)?.[1] ?? '', lines: [] });
      }
      stages.at(-1)?.lines.push(line);
    }
    const final = stages.at(-1)!;
    const finalOf = (keyword: string) => final.lines.filter((l) => l.keyword === keyword);

    it('builds on Node 22 LTS in several stages, which the engines range admits', () => {
      const nodeImage = instructions.find(
        (l) => l.keyword === 'ARG' && /^NODE_IMAGE=/.test(l.args),
      );
      expect(nodeImage?.args).toMatch(/^NODE_IMAGE=node:22[.-]/);
      // Node 20 stays supported for development machines and CI.
      const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines;
      expect(engines.node).toBe('>=20');
      expect(stages.length).toBeGreaterThanOrEqual(2);
      for (const stage of stages) expect(stage.lines[0]?.args).toMatch(/^\$\{NODE_IMAGE\}\s/);
    });

    it('pins the base image by digest, or says why not and how to', () => {
      const image = /^NODE_IMAGE=(\S+)/.exec(
        instructions.find((l) => l.keyword === 'ARG' && /^NODE_IMAGE=/.test(l.args))?.args ?? '',
      )?.[1];
      if (!/@sha256:[0-9a-f]{64}$/.test(image ?? '')) {
        expect(read('Dockerfile')).toMatch(/Not pinned by digest: .+\n[\s\S]*@sha256:<digest>/);
      }
    });

    it('carries the OCI labels that say what the image is and where it came from', () => {
      const labels = finalOf('LABEL')
        .map((l) => l.args)
        .join(' ');
      for (const key of [
        'title',
        'description',
        'licenses',
        'source',
        'version',
        'revision',
        'created',
      ]) {
        expect(labels).toMatch(new RegExp(`org\\.opencontainers\\.image\\.${key}="[^"]*"`));
      }
      const args = finalOf('ARG').map((l) => l.args.split('=')[0]);
      for (const used of labels.matchAll(/\$\{(\w+)\}/g)) expect(args).toContain(used[1]);
    });

    it('ships production dependencies only, and the build', () => {
      const copies = finalOf('COPY').map((l) => l.args);
      const modules = copies.find((c) => /node_modules/.test(c));
      const depsStage = /--from=(\S+)/.exec(modules ?? '')?.[1];
      const deps = stages.find((s) => s.name === depsStage);
      expect(
        deps?.lines.some((l) => l.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(l.args)),
      ).toBe(true);
      const dist = copies.find((c) => /\bdist\b/.test(c));
      const buildStage = stages.find((s) => s.name === /--from=(\S+)/.exec(dist ?? '')?.[1]);
      expect(
        buildStage?.lines.some((l) => l.keyword === 'RUN' && /npm run build/.test(l.args)),
      ).toBe(true);
      expect(
        finalOf('ENV')
          .map((l) => l.args)
          .join(' '),
      ).toMatch(/NODE_ENV=production/);
    });

    it('runs as a non-root user', () => {
      const user = finalOf('USER').at(-1)?.args;
      expect(user).toBeDefined();
      expect(['root', '0', '0:0']).not.toContain(user);
    });

    it('checks liveness, stops with SIGTERM, and starts Node directly (exec form, no npm)', () => {
      const healthcheck = finalOf('HEALTHCHECK').at(-1)?.args ?? '';
      expect(healthcheck).toContain('/health/live');
      expect(healthcheck).toMatch(/\bCMD \[/);
      expect(finalOf('STOPSIGNAL').at(-1)?.args).toBe('SIGTERM');
      expect(finalOf('ENTRYPOINT')).toEqual([]);
      const cmd = JSON.parse(finalOf('CMD').at(-1)?.args ?? 'null') as unknown;
      expect(cmd).toEqual(['node', 'dist/src/main.js']);
      // The same entry point as `npm run start:prod`, which the e2e suite starts.
      const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
        .scripts;
      expect(scripts['start:prod']).toBe((cmd as string[]).join(' '));
    });

    it('copies only files that exist and that .dockerignore lets through', () => {
      // Docker's rule: patterns apply in order, the last one that matches decides, `!` re-includes.
      const rules = read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((line) => {
          const include = line.startsWith('!');
          const p = include ? line.slice(1) : line;
          return {
            include,
            pattern: new RegExp(`^${p.replace(/[.+]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`),
          };
        });
      const isIgnored = (path: string): boolean =>
        rules.reduce((ignored, rule) => (rule.pattern.test(path) ? !rule.include : ignored), false);
      const sources = instructions
        .filter((l) => l.keyword === 'COPY' && !l.args.includes('--from='))
        .flatMap((l) => l.args.split(/\s+/).slice(0, -1));
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) {
        expect(existsSync(join(ROOT, source))).toBe(true);
        expect({ source, ignored: isIgnored(source) }).toEqual({ source, ignored: false });
      }
      for (const secret of ['.env', 'node_modules', 'dist', '.git']) {
        expect(isIgnored(secret)).toBe(true);
      }
    });
  });

  describe('docker-compose.yml', () => {
    it('runs three NATS nodes, each with its name and its own JetStream volume', () => {
      expect(natsNodes).toEqual(['nats-1', 'nats-2', 'nats-3']);
      const volumes = new Set<string>();
      for (const name of natsNodes) {
        const node = services[name]!;
        const command = (at(node, 'command') as string[]).join(' ');
        expect(command).toContain('-c /etc/nats/nats.conf');
        expect(command).toContain(`--name ${name}`);
        expect(command).toContain('--store_dir /data');
        const mounts = at(node, 'volumes') as string[];
        expect(mounts).toContain('./deploy/nats/nats.conf:/etc/nats/nats.conf:ro');
        const data = mounts.find((m) => m.endsWith(':/data'));
        expect(data).toBeDefined();
        volumes.add(data!.split(':')[0]!);
        expect(at(compose, 'volumes')).toHaveProperty(data!.split(':')[0]!);
        expect(String(at(node, 'image'))).toMatch(/nats:2\.\d+/);
        expect((at(node, 'healthcheck.test') as string[]).join(' ')).toContain('/healthz');
      }
      expect(volumes.size).toBe(natsNodes.length);
    });

    it('clusters the nodes with routes to all of them, with JetStream on', () => {
      const conf = read('deploy/nats/nats.conf');
      const routes = [...conf.matchAll(/nats-route:\/\/([\w.-]+):(\d+)/g)].map((m) => m[1]);
      expect(routes.sort()).toEqual(natsNodes);
      expect(conf).toMatch(/^jetstream\s*\{/m);
      expect(conf).toMatch(/^cluster\s*\{[^}]*\bname:\s*\S+/m);
      expect(conf).toMatch(/listen:\s*0\.0\.0\.0:6222/);
    });

    it('has a nats.conf that nats-server itself accepts', () => {
      const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
      const bin =
        process.env.NATS_SERVER_BIN ??
        dirs.map((d) => join(d, 'nats-server')).find((p) => existsSync(p));
      if (bin === undefined) throw new Error('nats-server is not installed (.ci/run installs it)');
      const result = spawnSync(bin, ['-t', '-c', join(ROOT, 'deploy', 'nats', 'nats.conf')], {
        encoding: 'utf8',
      });
      expect(`${result.stdout}${result.stderr}`).toContain('is valid');
      expect(result.status).toBe(0);
    });

    it('runs three replicas that keep the history on all three nodes', () => {
      expect(Number(interpolate(String(at(realtime, 'deploy.replicas')), {}))).toBe(3);
      expect(Number(env.HISTORY_REPLICAS)).toBe(3);
      expect(Number(env.HISTORY_REPLICAS)).toBeLessThanOrEqual(natsNodes.length);
      expect(env.NATS_URL?.split(',')).toEqual(natsNodes.map((n) => `nats://${n}:4222`));
      expect(Object.keys(at(realtime, 'depends_on') as Yaml).sort()).toEqual(natsNodes);
      for (const node of natsNodes) {
        expect(at(realtime, `depends_on.${node}.condition`)).toBe('service_healthy');
      }
    });

    it('stops a replica with SIGTERM and waits longer than its drain', () => {
      expect(at(realtime, 'stop_signal')).toBe('SIGTERM');
      const grace = durationMs(interpolate(String(at(realtime, 'stop_grace_period')), {}));
      // The drain window, then up to 2 s for close handshakes, then the NATS flush.
      expect(grace).toBeGreaterThanOrEqual(drainWindowMs + 5000);
      expect(at(realtime, 'init')).toBe(true);
    });

    it('refuses to start without JWT_SECRET, and starts with it', () => {
      expect(() => interpolate(String(rawEnv.JWT_SECRET), {})).toThrow(/set JWT_SECRET/);
      expect(() => interpolate(String(rawEnv.JWT_SECRET), { JWT_SECRET: '' })).toThrow(
        /set JWT_SECRET/,
      );
      const config = loadConfig(env);
      expect(config).toMatchObject({ env: 'production', history: { replicas: 3 } });
      expect(config.jwt.key).toMatchObject({ kind: 'secret', development: false });
    });

    it('passes every variable of the env schema (but the per-container ones), each with its default', () => {
      const unknown = Object.keys(rawEnv).filter((name) => !schema.has(name));
      expect(unknown).toEqual([]);
      const missing = [...schema.keys()].filter((n) => !(n in rawEnv) && !(n in NOT_IN_COMPOSE));
      expect(missing).toEqual([]);
      for (const name of Object.keys(NOT_IN_COMPOSE)) expect(rawEnv).not.toHaveProperty(name);
      for (const [name, value] of Object.entries(env)) {
        if (name === 'JWT_SECRET') continue;
        const expected = PRODUCTION_DEFAULTS[name] ?? String(schema.get(name));
        expect({ name, value }).toEqual({ name, value: expected });
      }
    });

    it('documents every variable it reads, and the schema’s, in .env.example with the same default', () => {
      const example = read('.env.example');
      const documented = new Map(
        [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
      );
      const needed = new Set([...variablesIn(composeText), ...schema.keys()]);
      expect([...needed].filter((name) => !documented.has(name))).toEqual([]);
      // Where .env.example gives a value, it is the default compose falls back to.
      const defaults = [...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}/g)];
      expect(defaults.length).toBeGreaterThan(20);
      for (const [, name = '', fallback] of defaults) {
        expect({ name, value: documented.get(name) }).toEqual({ name, value: fallback });
      }
    });

    it('routes through Traefik on a network it shares with the replicas only', () => {
      const traefik = services.traefik!;
      expect(String(at(traefik, 'image'))).toMatch(/^\$\{TRAEFIK_IMAGE:-traefik:v3[.\d]*\}$/);
      expect(at(traefik, 'volumes')).toEqual(
        expect.arrayContaining([
          './traefik/traefik.yml:/etc/traefik/traefik.yml:ro',
          '/var/run/docker.sock:/var/run/docker.sock:ro',
        ]),
      );
      const staticConfig = loadYaml('traefik/traefik.yml');
      const network = at(staticConfig, 'providers.docker.network');
      const edge = Object.entries(at(compose, 'networks') as Record<string, Yaml>).find(
        ([, n]) => n.name === network,
      )?.[0];
      expect(edge).toBeDefined();
      expect(at(traefik, 'networks')).toEqual([edge]);
      expect(at(realtime, 'networks')).toContain(edge);
      expect(at(staticConfig, 'providers.docker.exposedByDefault')).toBe(false);
      for (const node of natsNodes) expect(at(services[node], 'networks')).not.toContain(edge);
      // No replica port is published: clients come through Traefik.
      expect(realtime).not.toHaveProperty('ports');
    });
  });

  describe('Traefik', () => {
    const dockerStatic = loadYaml('traefik/traefik.yml');
    const fileStatic = loadYaml('traefik/traefik.file-provider.yml');
    const dynamic = loadYaml('traefik/dynamic/realtime.yml');
    const label = (key: string): string => {
      const value = labels[`traefik.http.${key}`];
      if (value === undefined) throw new Error(`label traefik.http.${key} is missing`);
      return value;
    };

    it('serves the WebSocket on /ws and REST on the rest, both on one sticky service', () => {
      expect(labels['traefik.enable']).toBe('true');
      expect(label('routers.realtime-ws.rule')).toBe('Path(`/ws`)');
      expect(label('routers.realtime-api.rule')).toBe('PathPrefix(`/`)');
      // Without explicit priorities the longer rule, PathPrefix(`/`), would take /ws.
      expect(Number(label('routers.realtime-ws.priority'))).toBeGreaterThan(
        Number(label('routers.realtime-api.priority')),
      );
      for (const router of ['realtime-ws', 'realtime-api']) {
        expect(label(`routers.${router}.service`)).toBe('realtime');
        expect(
          at(dockerStatic, `entryPoints.${label(`routers.${router}.entrypoints`)}`),
        ).toBeDefined();
      }
      expect(label('services.realtime.loadbalancer.server.port')).toBe(env.PORT);
    });

    it('keeps /metrics off the public entry point', () => {
      expect(label('routers.realtime-metrics.rule')).toBe('Path(`/metrics`)');
      expect(Number(label('routers.realtime-metrics.priority'))).toBeGreaterThan(
        Number(label('routers.realtime-api.priority')),
      );
      const middleware = label('routers.realtime-metrics.middlewares');
      expect(label(`middlewares.${middleware}.ipallowlist.sourcerange`)).toBe('127.0.0.1/32');
    });

    it('sets a sticky cookie that scripts cannot read and that is not sent cross-site', () => {
      expect(label('services.realtime.loadbalancer.sticky.cookie.name')).toBe('rt_replica');
      expect(label('services.realtime.loadbalancer.sticky.cookie.httponly')).toBe('true');
      expect(label('services.realtime.loadbalancer.sticky.cookie.secure')).toBe('true');
      expect(['lax', 'strict']).toContain(
        label('services.realtime.loadbalancer.sticky.cookie.samesite'),
      );
    });

    it('checks readiness often enough that a draining replica is out long before its drain ends', () => {
      expect(label('services.realtime.loadbalancer.healthcheck.path')).toBe('/health/ready');
      const interval = durationMs(label('services.realtime.loadbalancer.healthcheck.interval'));
      const timeout = durationMs(label('services.realtime.loadbalancer.healthcheck.timeout'));
      expect(timeout).toBeLessThan(interval); // Traefik resets a larger timeout to interval + 1 s
      expect(interval + timeout).toBeLessThanOrEqual(drainWindowMs / 2);
    });

    it('keeps upgraded sockets open: no write timeout, request timeouts bounded but not tiny', () => {
      const timeouts = at(dockerStatic, 'entryPoints.web.transport.respondingTimeouts') as Yaml;
      expect(durationMs(timeouts.writeTimeout)).toBe(0);
      expect(durationMs(timeouts.readTimeout)).toBeGreaterThanOrEqual(30_000);
      expect(durationMs(timeouts.idleTimeout)).toBeGreaterThanOrEqual(
        2 * Number(env.WS_PING_INTERVAL_MS),
      );
    });

    it('has a file-provider variant with the same entry point and the same service policy', () => {
      expect(at(fileStatic, 'entryPoints')).toEqual(at(dockerStatic, 'entryPoints'));
      expect(at(fileStatic, 'serversTransport')).toEqual(at(dockerStatic, 'serversTransport'));
      expect(at(fileStatic, 'providers.file.directory')).toBe('traefik/dynamic');

      for (const router of ['realtime-ws', 'realtime-api', 'realtime-metrics']) {
        const r = at(dynamic, `http.routers.${router}`) as Yaml;
        expect(r.rule).toBe(label(`routers.${router}.rule`));
        expect(String(r.priority)).toBe(label(`routers.${router}.priority`));
        expect(r.service).toBe(label(`routers.${router}.service`));
        expect(r.entryPoints).toEqual([label(`routers.${router}.entrypoints`)]);
      }
      expect(at(dynamic, 'http.routers.realtime-metrics.middlewares')).toEqual([
        label('routers.realtime-metrics.middlewares'),
      ]);
      expect(at(dynamic, 'http.middlewares.realtime-private.ipAllowList.sourceRange')).toEqual([
        label('middlewares.realtime-private.ipallowlist.sourcerange'),
      ]);
      const lb = at(dynamic, 'http.services.realtime.loadBalancer') as Yaml;
      expect(at(lb, 'sticky.cookie')).toEqual({
        name: label('services.realtime.loadbalancer.sticky.cookie.name'),
        httpOnly: label('services.realtime.loadbalancer.sticky.cookie.httponly') === 'true',
        secure: label('services.realtime.loadbalancer.sticky.cookie.secure') === 'true',
        sameSite: label('services.realtime.loadbalancer.sticky.cookie.samesite'),
      });
      expect(at(lb, 'healthCheck')).toEqual({
        path: label('services.realtime.loadbalancer.healthcheck.path'),
        interval: label('services.realtime.loadbalancer.healthcheck.interval'),
        timeout: label('services.realtime.loadbalancer.healthcheck.timeout'),
      });
      expect((at(lb, 'servers') as { url: string }[]).length).toBeGreaterThanOrEqual(2);
    });
  });

  describe('HAProxy template', () => {
    const template = read('deploy/haproxy/haproxy.cfg.template');
    const config = template
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .join('\n');

    it('has the same policy: readiness checks, an inserted sticky cookie, a tunnel timeout', () => {
      expect(config).toMatch(/http-check send meth GET uri \/health\/ready\b/);
      expect(config).toMatch(/http-check expect status 200/);
      expect(config).toMatch(/cookie \{\{COOKIE_NAME\}\} insert indirect nocache httponly/);
      expect(config).toMatch(/timeout tunnel \d+[smh]/);
      expect(config).toMatch(/option redispatch/);
      // The replica closes its own sockets over the drain window; HAProxy must not cut them.
      expect(config).not.toMatch(/shutdown-sessions/);
    });
  });
});
