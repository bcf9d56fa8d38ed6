/**
 * Builds the console page that the service serves at `/`: bundles console/main.ts (with the
 * client SDK) into dist/public/app.js and copies index.html and styles.css next to it, with a
 * content hash on each asset URL so that a new build is never served from a stale cache.
 *
 *   npm run build:console      (npm run build runs it after `nest build`)
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const SOURCE = join(ROOT, 'console');
const OUT = join(ROOT, 'dist', 'public');

function hash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 10);
}

function kib(path: string): string {
  return `${(statSync(path).size / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const started = Date.now();
  await build({
    entryPoints: [join(SOURCE, 'main.ts')],
    outfile: join(OUT, 'app.js'),
    tsconfig: join(SOURCE, 'tsconfig.json'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const css = readFileSync(join(SOURCE, 'styles.css'), 'utf8');
  writeFileSync(join(OUT, 'styles.css'), css);
  const js = readFileSync(join(OUT, 'app.js'));
  const html = readFileSync(join(SOURCE, 'index.html'), 'utf8')
    .replace('href="styles.css"', `href="styles.css?v=${hash(css)}"`)
    .replace('src="app.js"', `src="app.js?v=${hash(js)}"`);
  writeFileSync(join(OUT, 'index.html'), html);
  const files = ['index.html', 'app.js', 'styles.css'].map(
    (file) => `${relative(ROOT, join(OUT, file))} (${kib(join(OUT, file))})`,
  );
  console.log(`console page built in ${Date.now() - started} ms: ${files.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
