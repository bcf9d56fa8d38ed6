import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` this summary reads. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  /** ms of CPU profiles, KB per connection of heap profiles. */
  value: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Time the thread was waiting (`(idle)`): not CPU. */
  idleMs: number;
  topSelf: ProfileEntry[];
  /** Self time grouped by where the code lives (package, our lib, node core, GC). */
  byArea: ProfileEntry[];
  /** Time with the function anywhere on the stack (each function counted once per sample). */
  topInclusive: ProfileEntry[];
}

const NON_CPU = new Set(['(idle)']);

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    // A sample lasts until the next one; timeDeltas[i] is the gap before sample i.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    if (NON_CPU.has(node.callFrame.functionName)) {
      idleUs += us;
      return;
    }
    totalUs += us;
    add(self, label(node), us);
    add(area, areaOf(node), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (!n || n.callFrame.functionName === '(root)') continue;
      const key = label(n);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusive, key, us);
      }
    }
  });
  const entries = (map: Map<string, number>, n: number): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, value: us / 1000, pct: (100 * us) / Math.max(1, totalUs) }));
  return {
    file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    topSelf: entries(self, top),
    byArea: entries(area, top),
    topInclusive: entries(inclusive, top),
  };
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

export function label(node: { callFrame: ProfileNode['callFrame'] }): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  return `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const clean = url.replace(/^file:\/\//, '');
  const modules = clean.lastIndexOf('node_modules/');
  if (modules >= 0) return clean.slice(modules + 'node_modules/'.length);
  const dist = clean.indexOf('/dist/');
  if (dist >= 0) return clean.slice(dist + 1);
  return clean.replace(/^.*\/bench\//, 'bench/');
}

/** Package name, `@app/<lib>` or `src/<dir>` for our code, `node:<area>` for node core. */
export function areaOf(node: { callFrame: ProfileNode['callFrame'] }): string {
  const { functionName, url } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const clean = url.replace(/^file:\/\//, '');
  if (clean.startsWith('node:')) {
    const parts = clean.slice('node:'.length).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0]}`;
  }
  const modules = clean.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = clean.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? clean);
  }
  const lib = /\/dist\/libs\/([^/]+)\//.exec(clean);
  if (lib) return `@app/${lib[1]}`;
  const src = /\/dist\/src\/([^/]+)/.exec(clean);
  if (src) return `src/${src[1]?.replace(/\.js$/, '')}`;
  return shortUrl(clean);
}
