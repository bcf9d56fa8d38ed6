/**
 * Preloaded (`node -r`) into every server the benchmark measures, ours and raw alike, after being
 * transpiled to plain JS at run time (so that no TypeScript compiler sits in a measured process).
 * Over the IPC channel the orchestrator opened, it runs a full GC before an RSS sample (the
 * process is started with --expose-gc), starts/stops a V8 CPU profile around one window, and
 * samples which code allocated the heap that idle connections keep alive, and measures the event
 * loop's delay and the GC pauses over one window (the latency breakdown).
 * It changes nothing in the server until asked.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import {
  monitorEventLoopDelay,
  PerformanceObserver,
  type IntervalHistogram,
} from 'node:perf_hooks';

export type AgentRequest =
  | { agent: 'gc'; id: number }
  | { agent: 'profileStart'; id: number; intervalUs: number }
  | { agent: 'profileStop'; id: number; file: string }
  | {
      agent: 'heapSampleStart';
      id: number;
      intervalBytes: number;
      /** Count what the GC already collected too: every allocation, not what stays alive. */
      includeCollected?: boolean;
    }
  | { agent: 'heapSampleStop'; id: number; file: string }
  | { agent: 'loopStart'; id: number }
  | { agent: 'loopStop'; id: number };

/** Event-loop delay (ms, 1 ms sampling resolution as Node measures it) and GC pauses in a window. */
export interface LoopReport {
  delayMs: { p50: number; p99: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number; over1ms: number; kinds: string };
}

export type AgentResponse = {
  agent: true;
  id: number;
  error?: string;
  memory?: NodeJS.MemoryUsage;
  loop?: LoopReport;
};

interface Pause {
  ms: number;
  kind: string;
}
let loop: { delay: IntervalHistogram; observer: PerformanceObserver; pauses: Pause[] } | undefined;

/** perf_hooks' GC kinds (NODE_PERFORMANCE_GC_*). */
const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

let session: Session | undefined;

function post(method: string, params?: object): Promise<unknown> {
  if (!session) {
    session = new Session();
    session.connect();
  }
  const s = session;
  return new Promise((resolve, reject) =>
    s.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

async function run(request: AgentRequest): Promise<Omit<AgentResponse, 'agent' | 'id'>> {
  switch (request.agent) {
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the server with --expose-gc');
      gc();
      return { memory: process.memoryUsage() };
    }
    case 'profileStart':
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: request.intervalUs });
      await post('Profiler.start');
      return {};
    case 'profileStop': {
      const result = (await post('Profiler.stop')) as { profile: object };
      writeFileSync(request.file, JSON.stringify(result.profile));
      return {};
    }
    case 'heapSampleStart':
      await post('HeapProfiler.enable');
      await post('HeapProfiler.startSampling', {
        samplingInterval: request.intervalBytes,
        includeObjectsCollectedByMajorGC: request.includeCollected === true,
        includeObjectsCollectedByMinorGC: request.includeCollected === true,
      });
      return {};
    case 'heapSampleStop': {
      const result = (await post('HeapProfiler.stopSampling')) as { profile: object };
      writeFileSync(request.file, JSON.stringify(result.profile));
      return {};
    }
    case 'loopStart': {
      const pauses: Pause[] = [];
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
          const kind = detail?.kind ?? 0;
          pauses.push({ ms: entry.duration, kind: GC_KINDS[kind] ?? String(kind) });
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      loop = { delay, observer, pauses };
      return {};
    }
    case 'loopStop': {
      if (!loop) throw new Error('loopStart first');
      const { delay, observer, pauses } = loop;
      loop = undefined;
      delay.disable();
      observer.disconnect();
      const ms = (ns: number): number => ns / 1e6;
      return {
        loop: {
          delayMs: {
            p50: ms(delay.percentile(50)),
            p99: ms(delay.percentile(99)),
            max: ms(delay.max),
          },
          gc: {
            count: pauses.length,
            totalMs: pauses.reduce((n, p) => n + p.ms, 0),
            maxMs: Math.max(0, ...pauses.map((p) => p.ms)),
            over1ms: pauses.filter((p) => p.ms > 1).length,
            kinds: gcKinds(pauses),
          },
        },
      };
    }
  }
}

/** "minor 12 (40.1 ms, max 6.2), major 1 (…)" */
function gcKinds(pauses: Pause[]): string {
  const byKind = new Map<string, number[]>();
  for (const p of pauses) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p.ms]);
  return [...byKind]
    .map(([kind, ms]) => {
      const total = ms.reduce((a, b) => a + b, 0).toFixed(1);
      return `${kind} ${ms.length} (${total} ms, max ${Math.max(...ms).toFixed(1)})`;
    })
    .join(', ');
}

function isAgentRequest(message: unknown): message is AgentRequest {
  return typeof message === 'object' && message !== null && 'agent' in message && 'id' in message;
}

if (process.send) {
  process.on('message', (message: unknown) => {
    if (!isAgentRequest(message)) return;
    run(message).then(
      (result) => process.send?.({ agent: true, id: message.id, ...result }),
      (error: unknown) => process.send?.({ agent: true, id: message.id, error: String(error) }),
    );
  });
  // Orphaned by a dead orchestrator: do not linger.
  process.on('disconnect', () => process.exit(1));
}
