import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the built console page lives: `dist/public`, next to `dist/src` when running from the
 * build, or under the project root when running from sources (ts-node, tests).
 */
export function consoleAssetsDir(): string | undefined {
  const candidates = [
    join(__dirname, '..', '..', 'public'),
    join(__dirname, '..', '..', 'dist', 'public'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}
