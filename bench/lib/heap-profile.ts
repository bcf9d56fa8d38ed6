import { readFileSync } from 'node:fs';
import { areaOf, label, type ProfileEntry } from './cpu-profile';

/** The parts of a V8 sampling heap profile (HeapProfiler.stopSampling) this summary reads. */
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Bytes allocated here (sampled, scaled) and still alive when sampling stopped. */
  selfSize: number;
  children: HeapNode[];
}

export interface HeapSummary {
  file: string;
  /** Sampled live bytes allocated while sampling ran, KB. */
  totalKb: number;
  /** Divided by this many connections for the per-connection column. */
  perConnections: number;
  byArea: ProfileEntry[];
  topSelf: ProfileEntry[];
  topInclusive: ProfileEntry[];
}

/**
 * Which code allocated the heap that is still alive at the end of the sampling: with sampling
 * started after the baseline and stopped once N idle connections are open, that is what the
 * connections keep. Entry values are KB per connection.
 */
export function summarizeHeapProfile(file: string, connections: number, top = 20): HeapSummary {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const onPath = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode): number => {
    const key = label(node);
    onPath.set(key, (onPath.get(key) ?? 0) + 1);
    let subtree = node.selfSize;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(self, key, node.selfSize);
      add(area, areaOf(node), node.selfSize);
    }
    for (const child of node.children) subtree += walk(child);
    const depth = (onPath.get(key) ?? 1) - 1;
    onPath.set(key, depth);
    // Recursion: count a function's subtree once, at its outermost frame.
    if (depth === 0 && node.callFrame.functionName !== '(root)') add(inclusive, key, subtree);
    return subtree;
  };
  walk(head);
  const perConn = Math.max(1, connections);
  const entries = (map: Map<string, number>): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, bytes]) => ({
        name,
        value: bytes / 1024 / perConn,
        pct: (100 * bytes) / Math.max(1, total),
      }));
  return {
    file,
    totalKb: total / 1024,
    perConnections: connections,
    byArea: entries(area),
    topSelf: entries(self),
    topInclusive: entries(inclusive),
  };
}

function add(map: Map<string, number>, key: string, bytes: number): void {
  map.set(key, (map.get(key) ?? 0) + bytes);
}
