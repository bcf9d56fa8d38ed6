/**
 * `npx ts-node -r tsconfig-paths/register --transpile-only bench/latency-breakdown.ts [--rate 1000]
 * [--seconds 6]`: where a message's latency goes in 100 rooms
 * × 10 at a fixed rate (issue 11). Builds on the benchmark's pieces (bench/lib: nats-server on a free
 * port, two replicas from dist/, two chatters processes of 500 users): run `npm run build` first.
 *
 * One window of `--seconds` at `--rate` msg/s; every message carries its send time `t` (the shared
 * monotonic clock, see clock.ts), read at each stage without touching product code:
 *   send → rt.>     the message left replica A for JetStream (a core tap on the stored subjects)
 *   send → live.>   stored and republished by JetStream (a core tap on the live subjects)
 *   send → reply    the store's ack is back at the sender (the `reply` frame)
 *   send → delivery every member's socket, on both replicas
 * and, in each replica, the event loop's delay and the GC pauses over the window. Then two floors at
 * the same rate with the replicas idle: a core NATS publish → subscriber, and a JetStream publish →
 * its republish on `live.>` (store + republish alone). Prints one table. `--alloc` also samples
 * every allocation in the replicas over the window (bench/results/profiles/latency-alloc-*) and
 * prints what allocated, in bytes per message: GC pressure.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { argv } from 'node:process';
import { connect, type NatsConnection } from 'nats';
import { ChatSession } from './lib/chat-session';
import { monoUs, sleep } from './lib/clock';
import { Histogram, quantileMs, type HistogramData } from './lib/histogram';
import { intAfter } from './lib/sockets';
import { summarizeHeapProfile } from './lib/heap-profile';
import { RESULTS_DIR, snapshotProduct, startNats, startReplica, type Server } from './lib/servers';
import type { LoopReport } from './server-agent';

const SEND_TIME = Buffer.from('"t":');
const WARMUP_MS = 2_000;
const TICK_MS = 2;
const ROOMS = { mode: 'rooms' as const, processes: 2, usersPerProcess: 500, roomSize: 10 };
const PROBE_SUBJECT = 'rt.room.latency-probe';
/** `--alloc`: sample every allocation (collected ones too) in the replicas over the window. */
const ALLOC = argv.includes('--alloc');
const ALLOC_INTERVAL_BYTES = 4096;
/** `--node-options "--max-semi-space-size=64"`: V8/Node flags for the replicas (A/B a GC setting). */
const REPLICA_NODE_OPTIONS = argv.includes('--node-options')
  ? (argv[argv.indexOf('--node-options') + 1] ?? '')
  : '';

function option(name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(argv[at + 1]);
}

/** Records `now - t` for the messages of `subject` sent at or after `fromUs`. */
function tap(nc: NatsConnection, subject: string, fromUs: () => number): Histogram {
  const histogram = new Histogram();
  nc.subscribe(subject, {
    callback: (_err, msg) => {
      const sentUs = intAfter(Buffer.from(msg.data.buffer, msg.data.byteOffset), SEND_TIME);
      if (sentUs >= fromUs()) histogram.record(monoUs() - sentUs);
    },
  });
  return histogram;
}

/** Publishes `{"t":…}` on `subject` at `rate` msg/s for `ms` (as the chatters pace their sends). */
async function paced(nc: NatsConnection, subject: string, rate: number, ms: number): Promise<void> {
  const started = monoUs();
  let sent = 0;
  while (monoUs() - started < ms * 1000) {
    const due = Math.floor(((monoUs() - started) * rate) / 1e6);
    for (; sent < due; sent++) nc.publish(subject, `{"t":${monoUs()},"i":${sent}}`);
    await sleep(TICK_MS);
  }
  await nc.flush();
  await sleep(200); // the last republishes
}

/** A floor: `subject` published at `rate` from one connection, `heard` on another's tap. */
async function floor(
  pub: NatsConnection,
  sub: NatsConnection,
  [subject, heard]: [string, string],
  rate: number,
  seconds: number,
): Promise<HistogramData> {
  let fromUs = Infinity;
  const histogram = tap(sub, heard, () => fromUs);
  await sub.flush();
  await paced(pub, subject, rate, WARMUP_MS);
  fromUs = monoUs();
  await paced(pub, subject, rate, seconds * 1000);
  return histogram.toJSON();
}

function row(stage: string, h: HistogramData | { p50: number; p99: number; max?: number }): string {
  const [p50, p99, max] =
    'counts' in h
      ? [quantileMs(h, 0.5), quantileMs(h, 0.99), h.maxUs / 1000]
      : [h.p50, h.p99, h.max ?? NaN];
  const cell = (ms: number): string => (Number.isNaN(ms) ? '-' : ms.toFixed(2)).padStart(8);
  return `| ${stage.padEnd(44)} | ${cell(p50)} | ${cell(p99)} | ${cell(max)} |`;
}

function loopRows(servers: Server[], reports: LoopReport[]): string[] {
  return reports.flatMap((r, i) => [
    row(`${servers[i]?.name ?? '?'} event-loop delay (1 ms res.)`, r.delayMs),
    `| ${`${servers[i]?.name ?? '?'} GC`.padEnd(44)} | ${r.gc.count} pauses, ${r.gc.totalMs.toFixed(1)} ms in all, max ${r.gc.maxMs.toFixed(2)} ms: ${r.gc.kinds} |`,
  ]);
}

async function stopAllocSampling(server: Server): Promise<string> {
  const dir = join(RESULTS_DIR, 'profiles');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `latency-alloc-${server.name}-${Date.now()}.heapprofile`);
  await server.heapSampleStop(file);
  return file;
}

/** What the replica allocated, in bytes per message sent in the window. */
function printAllocations(file: string, messages: number): void {
  const summary = summarizeHeapProfile(file, messages, 15);
  const kb = (v: number): string => `${(v * 1024).toFixed(0)} B`;
  console.log(`\n${file}: ${kb(summary.totalKb / Math.max(1, messages))} per message; top self:`);
  for (const e of summary.topSelf) console.log(`  ${kb(e.value).padStart(8)}  ${e.name}`);
  console.log('  by area:');
  for (const e of summary.byArea) console.log(`  ${kb(e.value).padStart(8)}  ${e.name}`);
}

async function main(): Promise<void> {
  const rate = option('rate', 1_000);
  const seconds = option('seconds', 6);
  const builtAt = await snapshotProduct();
  console.log(
    `dist/ built ${builtAt.toISOString()}; ${rate} msg/s, ${seconds} s measured; replicas' NODE_OPTIONS "${REPLICA_NODE_OPTIONS}"`,
  );
  const nats = await startNats();
  const settings = { natsUrl: nats.handle.url, secret: randomBytes(32).toString('hex') };
  const servers = await Promise.all([
    startReplica('replica-a', settings, { NODE_OPTIONS: REPLICA_NODE_OPTIONS }),
    startReplica('replica-b', settings, { NODE_OPTIONS: REPLICA_NODE_OPTIONS }),
  ]);
  const [a, b] = servers;
  const taps = await connect({ servers: nats.handle.url, noAsyncTraces: true });
  const probe = await connect({ servers: nats.handle.url, noAsyncTraces: true });
  let session: ChatSession | undefined;
  try {
    let fromUs = Infinity;
    const ingress = tap(taps, 'rt.>', () => fromUs);
    const stored = tap(taps, 'live.>', () => fromUs);
    await taps.flush();
    const log = (line: string): void => console.log(line);
    session = await ChatSession.open(
      {
        kind: 'ours',
        urls: [a.wsUrl, b.wsUrl],
        servers,
        auth: (p) => ({ secret: settings.secret, userPrefix: p }),
      },
      ROOMS,
      log,
    );
    // ChatSession.run measures from 0.5 s + warm-up after it is called.
    fromUs = monoUs() + 500_000 + WARMUP_MS * 1000;
    const loops = sleep(500 + WARMUP_MS).then(() =>
      Promise.all(
        servers.map(async (s) => {
          await s.loopStart();
          if (ALLOC) await s.heapSampleStart(ALLOC_INTERVAL_BYTES, true);
        }),
      ),
    );
    const result = await session.run(
      { name: `100 rooms × 10 @ ${rate} msg/s`, rate },
      { warmupMs: WARMUP_MS, measureMs: seconds * 1000, maxRateWindow: 100, padTo: 0 },
      log,
    );
    await loops;
    const loopReports = await Promise.all(servers.map((s) => s.loopStop()));
    const allocFiles = ALLOC ? await Promise.all(servers.map(stopAllocSampling)) : [];
    await session.close();
    session = undefined;
    const core = await floor(probe, taps, ['latency.probe', 'latency.probe'], rate, seconds);
    const js = await floor(probe, taps, [PROBE_SUBJECT, 'live.room.latency-probe'], rate, seconds);
    console.log(
      [
        '',
        `| ${'stage (ms from the client send)'.padEnd(44)} |      p50 |      p99 |      max |`,
        `|${'-'.repeat(46)}|----------|----------|----------|`,
        row('send → rt.> (left replica A for JetStream)', ingress.toJSON()),
        row('send → live.> (stored, republished)', stored.toJSON()),
        row(
          'send → reply at the sender (ack back)',
          result.replyLatencyMs ?? { p50: NaN, p99: NaN },
        ),
        row('send → delivery (every member)', result.latencyMs),
        ...loopRows(servers, loopReports),
        row('floor: core NATS publish → subscriber', core),
        row('floor: JetStream publish → live.> republish', js),
      ].join('\n'),
    );
    for (const file of allocFiles) printAllocations(file, result.publishedInWindow);
  } finally {
    await session?.close();
    await Promise.all([taps.close(), probe.close()]);
    await Promise.all(servers.map((s) => s.stop()));
    await nats.handle.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
