/**
 * Builds the client SDK (libs/client) as an npm package that stands on its own:
 * - index.mjs (ES module) and index.cjs (CommonJS), each one file bundled by esbuild with
 *   `@app/protocol` inlined and nothing external; the extensions say the format, so neither
 *   depends on the consumer's `"type"`;
 * - index.d.ts and types/: the declarations tsc emits for libs/client and the libs it imports
 *   (libs/client/tsconfig.lib.json), with every `@app/<lib>` specifier rewritten to the relative
 *   path of that lib's emitted declarations, so a consumer needs no path mapping;
 * - package.json (`exports` for `import` and `require`, `types`, `ws` as an optional peer for
 *   Node < 22, which has no global WebSocket) and README.md.
 *
 *   npm run build:sdk [-- --out <dir>]      (default dist/sdk; the folder is replaced)
 */
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(__dirname, '..');
const LIBS = join(ROOT, 'libs');
const TSCONFIG = join(LIBS, 'client', 'tsconfig.lib.json');
/** `@app/<lib>` in quotes (a specifier) or backticks (a doc comment naming it). */
const ALIAS = /(['"`])@app\/([\w-]+)\1/g;

/** Every file below a folder. */
const filesIn = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => join(dir, file))
    .filter((path) => statSync(path).isFile());

/** `from` → `to` as a relative module specifier with forward slashes. */
function specifier(from: string, to: string): string {
  const path = relative(dirname(from), to).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** The package's own name; its version is the repository's. */
const PACKAGE_NAME = '@realtime-relay/client';

async function bundle(out: string, format: 'esm' | 'cjs'): Promise<void> {
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(LIBS, 'client', 'src', 'index.ts')],
    outfile: join(out, format === 'esm' ? 'index.mjs' : 'index.cjs'),
    tsconfig: TSCONFIG,
    bundle: true,
    format,
    platform: 'neutral',
    target: 'es2022',
    metafile: true,
    logLevel: 'warning',
  });
  const foreign = [
    ...Object.keys(metafile.inputs).filter((input) => !input.startsWith('libs/')),
    ...Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path)),
  ];
  if (foreign.length > 0) {
    throw new Error(`the SDK must have no dependencies, but it pulls in: ${foreign.join(', ')}`);
  }
}

/** tsc emits libs/<lib>/src/*.d.ts into types/<lib>/src (rootDir is libs/). */
function declarations(out: string): string[] {
  const types = join(out, 'types');
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', TSCONFIG, '--outDir', types],
    { cwd: ROOT, stdio: 'inherit', timeout: 120_000 },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed (${tsc.error?.message ?? tsc.status})`);
  for (const file of filesIn(types)) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(ALIAS, (_, quote: string, lib: string) => {
      const target = join(types, lib, 'src', 'index.d.ts');
      if (!statSync(target, { throwIfNoEntry: false })) {
        throw new Error(`${relative(out, file)} imports @app/${lib}, whose types were not emitted`);
      }
      return `${quote}${specifier(file, target.replace(/\.d\.ts$/, '.js'))}${quote}`;
    });
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  const index = join(out, 'index.d.ts');
  const entry = specifier(index, join(types, 'client', 'src', 'index.js'));
  writeFileSync(index, `export * from '${entry}';\n`);
  return filesIn(types);
}

function manifest(out: string): void {
  const { version, license } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
  };
  const pkg = {
    name: PACKAGE_NAME,
    version,
    description: 'Client SDK for the realtime-relay WebSocket service (browsers and Node).',
    license,
    main: './index.cjs',
    module: './index.mjs',
    types: './index.d.ts',
    exports: {
      '.': { types: './index.d.ts', import: './index.mjs', require: './index.cjs' },
      './package.json': './package.json',
    },
    files: ['index.mjs', 'index.cjs', 'index.d.ts', 'types', 'README.md'],
    sideEffects: false,
    engines: { node: '>=20' },
    peerDependencies: { ws: '>=8' },
    peerDependenciesMeta: { ws: { optional: true } },
  };
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  copyFileSync(join(LIBS, 'client', 'README.md'), join(out, 'README.md'));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = resolve(values.out ?? join(ROOT, 'dist', 'sdk'));
  const started = Date.now();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await bundle(out, 'esm');
  await bundle(out, 'cjs');
  const types = declarations(out);
  manifest(out);
  const left = filesIn(out).filter(
    (file) => !file.endsWith('.md') && readFileSync(file, 'utf8').includes('@app/'),
  );
  if (left.length > 0) throw new Error(`@app/ is still named in ${left.join(', ')}`);
  const size = (files: string[]): string =>
    `${(files.reduce((sum, file) => sum + statSync(file).size, 0) / 1024).toFixed(1)} KiB`;
  const where = relative(process.cwd(), out) || '.';
  console.log(
    `SDK ${PACKAGE_NAME} built in ${Date.now() - started} ms into ${where}: ` +
      `index.mjs (${size([join(out, 'index.mjs')])}), index.cjs (${size([join(out, 'index.cjs')])}), ` +
      `index.d.ts + types/ (${types.length} files, ${size(types)})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
