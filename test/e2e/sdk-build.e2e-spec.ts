import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { build } from 'esbuild';

/**
 * The SDK as a project outside this repository gets it: `npm run build:sdk` into a temp folder,
 * then a consumer in another temp folder, with no tsconfig paths, bundles it with esbuild, runs
 * the bundle and typechecks against the emitted declarations (strict, `types: []`, lib checks on).
 */

const ROOT = join(__dirname, '..', '..');

/** Runs a command with a time limit; fails with its output unless it exits 0. */
function run(command: string, args: string[], cwd = ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 90_000 });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')} failed (${why}):\n${output}`);
  }
  return output;
}

const CONSUMER = `
import { connect, ClientError, type ChatMessage, type ClientErrorCode } from '../sdk/index.js';

export function line(message: ChatMessage): string {
  return \`\${message.room}#\${message.seq} \${message.from}\`;
}

export function typeChecks(message: ChatMessage, error: ClientError): void {
  const code: ClientErrorCode = error.code;
  // @ts-expect-error seq is a number: unused (an error) if the protocol types came through as any
  const seq: string = message.seq;
  // @ts-expect-error not one of the client's codes
  const unknown = new ClientError('no_such_code', 'x');
  void [code, seq, unknown];
}

const error = new ClientError('timeout', 'no reply', { event: 'chat.send' });
console.log(JSON.stringify({
  connect: typeof connect,
  code: error.code,
  isError: error instanceof Error,
  line: line({ room: 'lobby', id: 'm1', seq: 7, from: 'alice', body: 'hi', ts: 0 }),
}));
`;

describe('the standalone SDK build (npm run build:sdk)', () => {
  let dir: string;
  let sdk: string;
  let app: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sdk-build-'));
    const fromRepo = relative(ROOT, dir);
    if (!fromRepo.startsWith('..') && !isAbsolute(fromRepo)) {
      throw new Error(`the temp folder ${dir} must be outside the repository`);
    }
    sdk = join(dir, 'sdk');
    app = join(dir, 'app');
    run('npx', ['ts-node', '--transpile-only', 'scripts/build-sdk.ts', '--out', sdk]);
    mkdirSync(app);
    writeFileSync(join(app, 'consumer.ts'), CONSUMER);
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes index.js and index.d.ts, and no emitted file names an @app/ lib', () => {
    const files = readdirSync(sdk, { recursive: true, encoding: 'utf8' }).filter((f) =>
      /\.(js|ts)$/.test(f),
    );
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts']));
    expect(files.filter((f) => f.endsWith('.d.ts')).length).toBeGreaterThan(1);
    const naming = files.filter((f) => readFileSync(join(sdk, f), 'utf8').includes('@app/'));
    expect(naming).toEqual([]);
  });

  it('bundles and runs a consumer outside the repository, with no path mapping', async () => {
    const outfile = join(app, 'consumer.mjs');
    const { metafile } = await build({
      absWorkingDir: app,
      entryPoints: [join(app, 'consumer.ts')],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      metafile: true,
      logLevel: 'silent',
    });
    expect(Object.keys(metafile.inputs)).toContain('../sdk/index.js');
    const printed = JSON.parse(run(process.execPath, [outfile], app)) as unknown;
    expect(printed).toEqual({
      connect: 'function',
      code: 'timeout',
      isError: true,
      line: 'lobby#7 alice',
    });
  });

  it('typechecks the consumer against the emitted declarations alone', () => {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'es2022',
        moduleResolution: 'bundler',
        target: 'es2022',
        lib: ['es2022', 'dom'],
        types: [],
        skipLibCheck: false,
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const listed = run('npx', ['tsc', '-p', join(app, 'tsconfig.json'), '--listFiles']);
    expect(listed).toContain(join(sdk, 'types', 'protocol', 'src', 'events.d.ts'));
  });
});
