import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from '@app/testing';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/**
 * The SDK as a project outside this repository gets it: `npm run build:sdk` into a temp folder,
 * `npm pack`, and the tarball installed in another temp folder, with no tsconfig paths. There a
 * CommonJS consumer and an ES module consumer talk to a real replica, and `tsc` typechecks a
 * TypeScript consumer against the package's declarations (strict, lib checks on).
 */

const ROOT = join(__dirname, '..', '..');
const PACKAGE = '@realtime-relay/client';

/** Runs a command without blocking this process (the replica answers meanwhile). */
async function run(command: string, args: string[], cwd: string, env = {}): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, {
      cwd,
      timeout: 90_000,
      env: { ...process.env, ...env },
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr, message } = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed (${message}):\n${stdout}${stderr}`);
  }
}

/** Joins a room, sends to it and prints the reply: the same for every module format. */
const session = (ws: string): string => `
const client = connect({ url: process.env.SDK_URL, token: process.env.SDK_TOKEN, WebSocket: ${ws} });
client.join('sdk-lobby')
  .then(() => client.send('sdk-lobby', { text: 'hi' }))
  .then((published) => client.close().then(() => {
    console.log(JSON.stringify({ connect: typeof connect, seq: published.seq }));
  }))
  .catch((error) => { console.error(error); process.exit(1); });
`;

const CJS = `
const { connect } = require('${PACKAGE}');
const { WebSocket } = require('ws');
${session('WebSocket')}`;

const ESM = `
import { connect } from '${PACKAGE}';
import { WebSocket } from 'ws';
${session('WebSocket')}`;

const TYPED = `
import { connect, ClientError, type ChatMessage, type ClientErrorCode } from '${PACKAGE}';

export function line(message: ChatMessage): string {
  return \`\${message.room}#\${message.seq} \${message.from}\`;
}

export function typeChecks(message: ChatMessage, error: ClientError): void {
  const code: ClientErrorCode = error.code;
  // @ts-expect-error seq is a number: unused (an error) if the protocol types came through as any
  const seq: string = message.seq;
  // @ts-expect-error not one of the client's codes
  const unknown = new ClientError('no_such_code', 'x');
  void [code, seq, unknown, connect];
}
`;

describe('the SDK package (npm run build:sdk, npm pack, npm install)', () => {
  let dir: string;
  let sdk: string;
  let app: string;
  let replica: TestApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sdk-package-'));
    const fromRepo = relative(ROOT, dir);
    if (!fromRepo.startsWith('..') && !isAbsolute(fromRepo)) {
      throw new Error(`the temp folder ${dir} must be outside the repository`);
    }
    sdk = join(dir, 'sdk');
    app = join(dir, 'app');
    await run('npx', ['ts-node', '--transpile-only', 'scripts/build-sdk.ts', '--out', sdk], ROOT);
    const packed = await run('npm', ['pack', '--pack-destination', dir, '--silent'], sdk);
    const tarball = join(dir, packed.trim().split('\n').pop() ?? '');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // `ws` from this repository's install: the test needs no registry.
    const ws = join(ROOT, 'node_modules', 'ws');
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball, ws], app);
    writeFileSync(join(app, 'consumer.cjs'), CJS);
    writeFileSync(join(app, 'consumer.mjs'), ESM);
    writeFileSync(join(app, 'consumer.ts'), TYPED);
    replica = await startReplica();
  }, 180_000);

  afterAll(async () => {
    await replica?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a manifest with both module formats, types and ws as an optional peer', () => {
    const manifest = JSON.parse(
      readFileSync(join(app, 'node_modules', PACKAGE, 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: PACKAGE,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      types: './index.d.ts',
      exports: { '.': { types: './index.d.ts', import: './index.mjs', require: './index.cjs' } },
      peerDependencies: { ws: expect.any(String) },
      peerDependenciesMeta: { ws: { optional: true } },
    });
    const files = readdirSync(sdk, { recursive: true, encoding: 'utf8' });
    const naming = files
      .filter((f) => /\.(c|m)?(js|ts)$/.test(f))
      .filter((f) => readFileSync(join(sdk, f), 'utf8').includes('@app/'));
    expect(naming).toEqual([]);
  });

  it.each([
    ['CommonJS', 'consumer.cjs'],
    ['ES module', 'consumer.mjs'],
  ])('a %s consumer joins and sends through a real replica', async (_, file) => {
    const env = { SDK_URL: replica.wsUrl, SDK_TOKEN: tokenFor(`sdk-${file}`) };
    const printed = JSON.parse(await run(process.execPath, [file], app, env)) as unknown;
    expect(printed).toEqual({ connect: 'function', seq: expect.any(Number) });
  });

  it.each([
    ['commonjs', 'node16'],
    ['module', 'nodenext'],
    ['module', 'bundler'],
  ])(
    'typechecks a TypeScript consumer (package type %s, %s resolution)',
    async (type, resolution) => {
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', type }));
      const tsconfig = {
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: resolution === 'bundler' ? 'es2022' : resolution,
          moduleResolution: resolution,
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: [],
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const listed = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--listFiles'], app);
      expect(listed).toContain(join('node_modules', PACKAGE, 'types', 'protocol', 'src'));
    },
  );
});
