import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from '@app/testing';
import { Scope } from '../../src/auth';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/**
 * The OpenAPI document as /docs serves it: `@redocly/cli lint` finds no error; every documented
 * example, tried as Swagger UI would, gets its documented status; and a client typed by
 * `openapi-typescript` compiles against the bodies the routes really answer.
 */

const ROOT = join(__dirname, '..', '..');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
let document: Document;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  example?: unknown;
  schema?: { example?: unknown };
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  security?: Array<Record<string, string[]>>;
  requestBody?: {
    content: Record<string, { schema: Schema; examples?: Record<string, { value: unknown }> }>;
  };
  responses: Record<string, unknown>;
}
interface Schema {
  $ref?: string;
  example?: unknown;
  properties?: Record<string, Schema>;
}
type Document = {
  components: { schemas: Record<string, Schema> };
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
};

/** One request as made, and what it got: becomes a typed constant in the client. */
interface Exchange {
  path: string;
  method: string;
  status: number;
  request?: unknown;
  response: unknown;
}

async function run(command: string, args: string[], cwd = ROOT): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd, timeout: 90_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr, message } = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed (${message}):\n${stdout}${stderr}`);
  }
}

function operations(document: Document): Array<{ path: string; method: string; op: Operation }> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => (item[method] ? [{ path, method, op: item[method] }] : [])),
  );
}

/**
 * The body Swagger UI's "Try it out" fills in from a schema: every property that has an example,
 * optional ones included.
 */
function exampleOf(schema: Schema): unknown {
  const resolved = schema.$ref
    ? document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]!
    : schema;
  if (resolved.example !== undefined || !resolved.properties) return resolved.example;
  return Object.fromEntries(
    Object.entries(resolved.properties)
      .map(([name, property]) => [name, exampleOf(property)])
      .filter(([, value]) => value !== undefined),
  );
}

/** The path with each parameter's documented example in place. */
function urlOf(path: string, op: Operation): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const param = op.parameters?.find((p) => p.in === 'path' && p.name === name);
    const example = param?.example ?? param?.schema?.example;
    if (typeof example !== 'string') throw new Error(`${op.operationId}: no example for {${name}}`);
    return encodeURIComponent(example);
  });
}

describe('the OpenAPI document', () => {
  let replica: TestApp;
  let dir: string;
  const exchanges: Exchange[] = [];
  const token = tokenFor('openapi-tester', { scope: Object.values(Scope).join(' ') });

  async function exchange(
    path: string,
    method: string,
    url: string,
    options: { token?: string; body?: unknown },
  ): Promise<Exchange> {
    const response = await fetch(`${replica.url}${url}`, {
      method: method.toUpperCase(),
      headers: {
        ...(options.token && { authorization: `Bearer ${options.token}` }),
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json');
    const result = {
      path,
      method,
      status: response.status,
      request: options.body,
      response: json ? (JSON.parse(text) as unknown) : text,
    };
    exchanges.push(result);
    return result;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    replica = await startReplica();
    const response = await fetch(`${replica.url}/docs-json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as Document;
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
  });

  afterAll(async () => {
    await replica?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes @redocly/cli lint with no error', async () => {
    const redocly = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
    const args = ['lint', join(dir, 'openapi.json'), '--config', join(ROOT, 'redocly.yaml')];
    const report = await run(process.execPath, [redocly, ...args, '--format=json']).catch(
      (error: Error) => error.message,
    );
    const { problems } = JSON.parse(report.slice(report.indexOf('{'))) as {
      problems: Array<{ ruleId: string; severity: string; location: Array<{ pointer: string }> }>;
    };
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => `${p.ruleId} ${p.location[0]?.pointer}`)).toEqual([]);
    // Warnings allowed: probes and the scrape endpoint take no input, so they have no 4xx; schemas
    // kept in the document for the NATS patterns, which no route uses.
    const warned = problems.filter((p) => p.severity !== 'error');
    const allowed = (p: (typeof problems)[number]): boolean =>
      (p.ruleId === 'operation-4xx-response' &&
        /^#\/paths\/~1(health|metrics)/.test(p.location[0]?.pointer ?? '')) ||
      p.ruleId === 'no-unused-components';
    expect(warned.filter((p) => !allowed(p)).map((p) => p.ruleId)).toEqual([]);
  });

  it('states security on every operation; those with a token refuse a request without one', async () => {
    const unprotected: string[] = [];
    for (const { path, method, op } of operations(document)) {
      // (Arrays from fetch are not this jest realm's: no `expect.any(Array)`.)
      expect({ [op.operationId]: Array.isArray(op.security) }).toEqual({ [op.operationId]: true });
      const tokenOptional = op.security!.some((s) => Object.keys(s).length === 0);
      if (op.security!.length === 0 || tokenOptional) {
        unprotected.push(op.operationId);
        continue;
      }
      const { status } = await exchange(path, method, urlOf(path, op), {});
      expect({ [op.operationId]: status }).toEqual({ [op.operationId]: 401 });
      expect(op.responses).toHaveProperty('401');
    }
    // The operator endpoints, the development token and the console's (development) cluster view.
    expect(unprotected.sort()).toEqual([
      'ConsoleController_clusterView',
      'ConsoleController_devToken',
      'HealthController_live',
      'HealthController_ready',
      'MetricsController_metrics',
    ]);
  });

  it('answers every documented example with its documented success status', async () => {
    let tried = 0;
    for (const { path, method, op } of operations(document)) {
      const success = Number(Object.keys(op.responses).find((s) => s.startsWith('2')));
      const json = op.requestBody?.content['application/json'];
      const examples = Object.values(json?.examples ?? {}).map((e) => e.value);
      const bodies = !json
        ? [undefined]
        : examples.length > 0
          ? examples
          : [exampleOf(json.schema)];
      for (const body of bodies) {
        const { status, response } = await exchange(path, method, urlOf(path, op), {
          token,
          body,
        });
        expect({ [op.operationId]: status, response }).toEqual({
          [op.operationId]: success,
          response,
        });
        tried++;
      }
    }
    expect(tried).toBeGreaterThanOrEqual(8);
    // Real error bodies for the typed client: a bad body and a bad header.
    await exchange('/notifications', 'post', '/notifications', {
      token,
      body: { stream: 'public.news', userId: 'alice', payload: 1 },
    });
  });

  it('generates types with openapi-typescript that compile against the real bodies', async () => {
    expect(exchanges.length).toBeGreaterThan(8);
    const cli = join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
    await run(process.execPath, [cli, join(dir, 'openapi.json'), '-o', join(dir, 'api.d.ts')]);
    const constants = exchanges.map(({ path, method, status, request, response }, i) => {
      const operation = `paths['${path}']['${method}']`;
      const lines = [
        `export const response${i}: Json<${operation}['responses'][${status}]> = ${JSON.stringify(response)};`,
      ];
      if (request !== undefined) {
        lines.push(
          `export const request${i}: Json<NonNullable<${operation}['requestBody']>> = ${JSON.stringify(request)};`,
        );
      }
      return lines.join('\n');
    });
    const client = [
      `import type { paths } from './api';`,
      `type Json<T> = T extends { content: { 'application/json': infer B } } ? B : T extends { content: { 'text/plain; version=0.0.4; charset=utf-8': infer B } } ? B : never;`,
      // A key is optional: sending none must compile.
      `export const noKey: NonNullable<paths['/notifications']['post']['parameters']['header']> = {};`,
      ...constants,
    ].join('\n');
    writeFileSync(join(dir, 'client.ts'), client);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'es2022',
        types: [],
      },
      files: ['client.ts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], dir);
  });
});
