import { sleep } from './clock';
import { median, rssKb } from './proc-stats';
import type { Auth, IdleReport } from './protocol';
import type { Server } from './servers';
import { LoadWorker } from './workers';

/** Mean bytes between heap samples (V8's default is 32 KiB). */
const HEAP_SAMPLE_BYTES = 16 * 1024;

export interface IdleSettings {
  connections: number;
  processes: number;
  concurrency: number;
  /** Connections opened and closed first, so that lazily loaded code is not charged to them. */
  warmupConnections: number;
  settleMs: number;
  samples: number;
  /** Where to write a sampling heap profile of what the connections keep alive (optional). */
  heapProfileFile?: string;
}

export interface IdleSample {
  rssKb: number;
  heapUsedKb: number;
  externalKb: number;
}

export interface IdleResult {
  kind: 'ours' | 'raw';
  connections: number;
  failed: number;
  connectMs: number;
  firstError?: string;
  before: IdleSample;
  after: IdleSample;
  /** RSS after, before the forced GC, median of the samples. */
  afterNoGcRssKb: number;
  rssKbPerConnection: number;
  rssKbPerConnectionNoGc: number;
  heapKbPerConnection: number;
  heapProfileFile?: string;
}

/**
 * RSS growth of one server process per idle connection: warm up, GC, sample; connect N clients
 * that each got `welcome` (ours) or opened (raw); wait; sample (median) before and after a GC.
 */
export async function runIdle(
  kind: 'ours' | 'raw',
  server: Server,
  auth: (prefix: string) => Auth,
  settings: IdleSettings,
  log: (line: string) => void,
): Promise<IdleResult> {
  const workers = await Promise.all(
    Array.from({ length: settings.processes }, (_, i) => LoadWorker.start(`${kind}-idle-${i + 1}`)),
  );
  try {
    const perProcess = Math.ceil(settings.connections / settings.processes);
    const connect = (count: number, prefix: string): Promise<IdleReport[]> =>
      Promise.all(
        workers.map((w, i) =>
          w.call(
            'connectIdle',
            {
              url: server.wsUrl,
              auth: auth(`${prefix}${i + 1}-`),
              count,
              concurrency: settings.concurrency,
            },
            180_000,
          ),
        ),
      );
    await connect(Math.ceil(settings.warmupConnections / settings.processes), 'warm');
    await Promise.all(workers.map((w) => w.call('closeAll', null)));
    await sleep(settings.settleMs);
    const before = await sampleAfterGc(server, settings.samples);
    if (settings.heapProfileFile) await server.heapSampleStart(HEAP_SAMPLE_BYTES);

    log(`  ${kind} idle: connecting ${settings.connections.toLocaleString('en-US')} clients`);
    const reports = await connect(perProcess, 'idle');
    const connected = reports.reduce((n, r) => n + r.connected, 0);
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    const connectMs = Math.max(...reports.map((r) => r.elapsedMs));
    log(
      `    ${connected} connected (${failed} failed) in ${Math.round(connectMs)} ms; settling ${settings.settleMs / 1000} s`,
    );
    await sleep(settings.settleMs);
    const afterNoGcRssKb = await sampleRss(server, settings.samples);
    if (settings.heapProfileFile) {
      await server.gc(); // dead objects would still count as sampled
      await server.heapSampleStop(settings.heapProfileFile);
    }
    const after = await sampleAfterGc(server, settings.samples);
    const per = (a: number, b: number): number => (a - b) / Math.max(1, connected);
    const result: IdleResult = {
      kind,
      connections: connected,
      failed,
      connectMs,
      ...(reports.find((r) => r.firstError) && {
        firstError: reports.find((r) => r.firstError)?.firstError,
      }),
      before,
      after,
      afterNoGcRssKb,
      rssKbPerConnection: per(after.rssKb, before.rssKb),
      rssKbPerConnectionNoGc: per(afterNoGcRssKb, before.rssKb),
      heapKbPerConnection: per(after.heapUsedKb, before.heapUsedKb),
      ...(settings.heapProfileFile && { heapProfileFile: settings.heapProfileFile }),
    };
    log(
      `    → ${result.rssKbPerConnection.toFixed(2)} KB RSS per connection after GC (${result.rssKbPerConnectionNoGc.toFixed(2)} before GC), heap ${result.heapKbPerConnection.toFixed(2)} KB`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

async function sampleRss(server: Server, samples: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(rssKb(server.pid));
    await sleep(300);
  }
  return median(values);
}

async function sampleAfterGc(server: Server, samples: number): Promise<IdleSample> {
  const memory = await server.gc();
  await sleep(500);
  return {
    rssKb: await sampleRss(server, samples),
    heapUsedKb: memory.heapUsed / 1024,
    externalKb: memory.external / 1024,
  };
}
