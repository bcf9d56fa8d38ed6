import { cpus } from 'node:os';
import { monoUs, sleepUntil } from './clock';
import { mergeHistograms, quantileMs, type HistogramData } from './histogram';
import {
  cpuMs,
  machineTicks,
  machineUsage,
  median,
  rssKb,
  sampleCpu,
  type MachineTicks,
} from './proc-stats';
import type { Auth, PublisherReport, SubscriberReport } from './protocol';
import type { Server } from './servers';
import { LoadWorker } from './workers';

export const ROOM = 'bench';

export interface FanoutTarget {
  kind: 'ours' | 'raw';
  publisherUrl: string;
  /** One subscriber process per entry, each with `subscribersPerProcess` sockets on that URL. */
  subscriberUrls: string[];
  servers: Server[];
  /** The broker, measured separately (ours only). */
  brokerPid?: number;
  auth: (prefix: string) => Auth;
}

export interface FanoutPhase {
  name: string;
  /** Messages/s, or null for max rate (a bounded window of unacknowledged sends). */
  rate: number | null;
  /** Ratios to raw ws the issue sets for this phase (see `report.ratios`). */
  targets?: PhaseTargets;
}

export interface PhaseTargets {
  /** Server CPU per delivery, ours/raw, at most. */
  cpu?: number;
  /** Server + NATS CPU per delivery, ours/raw, at most. */
  cpuWithNats?: number;
  /** Deliveries/s, ours/raw, at least. */
  throughput?: number;
  /** p99 latency, ours/raw, at most. */
  p99?: number;
}

export interface FanoutSettings {
  subscribersPerProcess: number;
  warmupMs: number;
  measureMs: number;
  maxRateWindow: number;
  /** Raw frames are padded to this many bytes (the size of ours), 0 for no padding. */
  padTo: number;
  /** Called at t0 and t1 of each phase (used to start and stop CPU profiles). */
  onWindowStart?: () => Promise<void>;
  onWindowEnd?: () => Promise<void>;
}

export interface FanoutPhaseResult {
  phase: string;
  kind: 'ours' | 'raw';
  offeredMsgPerSec: number | null;
  windowSec: number;
  subscribers: number;
  /** Deliveries each message makes: 1,000 in the big room, 10 in a small one, 1 for a DM. */
  deliveriesPerMessage: number;
  publishedInWindow: number;
  publishedPerSec: number;
  deliveriesInWindow: number;
  deliveriesPerSec: number;
  /** Deliveries / subscribers: messages each subscriber got per second. */
  messagesPerSec: number;
  /** Of the messages sent in the window, the share that reached every subscriber. */
  completeness: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number; samples: number };
  ackLatencyMs: { p50: number; p99: number };
  /** Chat only: send → the sender's `reply` (ours; raw sends none). */
  replyLatencyMs?: { p50: number; p99: number };
  serverCpuMs: Record<string, number>;
  /** The main (JavaScript) thread's share; the rest is GC and other V8/libuv helper threads. */
  serverMainThreadCpuMs: Record<string, number>;
  serverCpuUsPerDelivery: number;
  /** Each server's CPU over the deliveries to its own sockets. */
  serverCpuUsPerOwnDelivery: Record<string, number>;
  brokerCpuMs: number | null;
  brokerCpuUsPerDelivery: number | null;
  loadGenCpuMs: number;
  /** Machine CPU by kind over the window, % of all cores. */
  machine: MachineTicks;
  /**
   * Busy machine time not charged to the servers, broker or load generators (% of all cores):
   * other processes on the machine and kernel work outside them. High means a noisy window.
   */
  unattributedPct: number;
  serverRssKb: Record<string, number>;
  meanFrameBytes: number;
  publisherErrors: Record<string, number>;
  unacknowledged: number;
  closes: Record<string, number>;
  /** Set on a summary of several windows: each window's headline figures, in run order. */
  windows?: WindowFigures[];
}

export interface WindowFigures {
  deliveriesPerSec: number;
  completeness: number;
  p50: number;
  p99: number;
  serverCpuUsPerDelivery: number;
  unattributedPct: number;
}

const DRAIN = { quietMs: 500, maxMs: 20_000 };

/** Subscribers and a publisher connected to one target, kept open across phases. */
export class FanoutSession {
  private constructor(
    readonly target: FanoutTarget,
    private readonly subscribers: LoadWorker[],
    private readonly publisher: LoadWorker,
  ) {}

  static async open(
    target: FanoutTarget,
    subscribersPerProcess: number,
    log: (line: string) => void,
  ): Promise<FanoutSession> {
    const workers: LoadWorker[] = [];
    try {
      for (const [i] of target.subscriberUrls.entries()) {
        workers.push(await LoadWorker.start(`${target.kind}-subscribers-${i + 1}`));
      }
      const publisher = await LoadWorker.start(`${target.kind}-publisher`);
      const subscribers = [...workers];
      workers.push(publisher);
      const joined = await Promise.all(
        subscribers.map((w, i) =>
          w.call('subscribe', {
            url: target.subscriberUrls[i] ?? '',
            auth: target.auth(`sub${i + 1}-`),
            count: subscribersPerProcess,
            room: ROOM,
            concurrency: 50,
          }),
        ),
      );
      const sockets = joined.reduce((n, j) => n + j.sockets, 0);
      const ms = Math.max(...joined.map((j) => j.elapsedMs));
      log(`  ${target.kind}: ${sockets} subscribers connected and joined in ${Math.round(ms)} ms`);
      await publisher.call('publisherSetup', {
        url: target.publisherUrl,
        auth: target.auth('publisher-'),
        room: ROOM,
        kind: target.kind,
      });
      return new FanoutSession(target, subscribers, publisher);
    } catch (error) {
      await Promise.all(workers.map((w) => w.stop()));
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscribers, this.publisher].map((w) => w.stop()));
  }

  /** One phase: warm-up, then a measured window; CPU is sampled at its start and end. */
  async run(
    phase: FanoutPhase,
    settings: FanoutSettings,
    log: (line: string) => void,
  ): Promise<FanoutPhaseResult> {
    const { target, subscribers, publisher } = this;
    log(
      `  ${target.kind} fan-out ${phase.name}: ${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s measured`,
    );
    const t0Us = monoUs() + 500_000 + settings.warmupMs * 1000;
    const t1Us = t0Us + settings.measureMs * 1000;
    await Promise.all(subscribers.map((w) => w.call('window', { t0Us, t1Us })));
    const published = publisher.call(
      'publish',
      { t0Us, t1Us, rate: phase.rate, window: settings.maxRateWindow, padTo: settings.padTo },
      settings.warmupMs + settings.measureMs + 60_000,
    );
    const meter: Meter = {
      servers: target.servers,
      brokerPid: target.brokerPid,
      loadPids: Object.fromEntries([...subscribers, publisher].map((w) => [w.proc.name, w.pid])),
    };

    await sleepUntil(t0Us);
    const start = takeSample(meter);
    await settings.onWindowStart?.();
    await sleepUntil(t1Us);
    const end = takeSample(meter);
    const rss = serverRss(target.servers);
    await settings.onWindowEnd?.();

    const pub: PublisherReport = await published;
    const reports: SubscriberReport[] = await Promise.all(
      subscribers.map((w) => w.call('drain', DRAIN, DRAIN.maxMs + 10_000)),
    );
    const result = aggregate(target, phase, settings, pub, reports, meter, [start, end], rss);
    log(`    → ${summary(result)}`);
    return result;
  }
}

/** The processes a window charges CPU to. */
export interface Meter {
  servers: Server[];
  /** The broker, measured separately (ours only). */
  brokerPid?: number;
  loadPids: Record<string, number>;
}

export interface Sample {
  server: Record<string, number>;
  serverMain: Record<string, number>;
  broker: number;
  load: Record<string, number>;
  machine: MachineTicks;
}

export function takeSample(meter: Meter): Sample {
  const serverPids = Object.fromEntries(meter.servers.map((s) => [s.name, s.pid]));
  return {
    server: sampleCpu(serverPids),
    serverMain: sampleCpu(serverPids, true),
    broker: meter.brokerPid ? cpuMs(meter.brokerPid) : 0,
    load: sampleCpu(meter.loadPids),
    machine: machineTicks(),
  };
}

export function serverRss(servers: Server[]): Record<string, number> {
  return Object.fromEntries(servers.map((s) => [s.name, rssKb(s.pid)]));
}

type CpuFigures = Pick<
  FanoutPhaseResult,
  | 'serverCpuMs'
  | 'serverMainThreadCpuMs'
  | 'serverCpuUsPerDelivery'
  | 'serverCpuUsPerOwnDelivery'
  | 'brokerCpuMs'
  | 'brokerCpuUsPerDelivery'
  | 'loadGenCpuMs'
  | 'machine'
  | 'unattributedPct'
>;

/** CPU of a window [start, end] per delivery; `own(server)` is the deliveries to its sockets. */
export function cpuFigures(
  meter: Meter,
  measureMs: number,
  [start, end]: [Sample, Sample],
  deliveries: number,
  own: (server: Server) => number,
): CpuFigures {
  const server = diff(start.server, end.server);
  const serverCpu = sum(server);
  const broker = meter.brokerPid ? end.broker - start.broker : null;
  const load = sum(diff(start.load, end.load));
  const machine = machineUsage(start.machine, end.machine);
  const attributedPct = (100 * (serverCpu + (broker ?? 0) + load)) / (measureMs * cpus().length);
  const perDelivery = (ms: number, n = deliveries): number => (ms * 1000) / Math.max(1, n);
  return {
    serverCpuMs: server,
    serverMainThreadCpuMs: diff(start.serverMain, end.serverMain),
    serverCpuUsPerDelivery: perDelivery(serverCpu),
    serverCpuUsPerOwnDelivery: Object.fromEntries(
      meter.servers.map((s) => [s.name, perDelivery(server[s.name] ?? 0, own(s))]),
    ),
    brokerCpuMs: broker,
    brokerCpuUsPerDelivery: broker === null ? null : perDelivery(broker),
    loadGenCpuMs: load,
    machine,
    unattributedPct: Math.max(0, machine.busy - attributedPct),
  };
}

function aggregate(
  target: FanoutTarget,
  phase: FanoutPhase,
  settings: FanoutSettings,
  pub: PublisherReport,
  reports: SubscriberReport[],
  meter: Meter,
  samples: [Sample, Sample],
  rss: Record<string, number>,
): FanoutPhaseResult {
  const windowSec = settings.measureMs / 1000;
  const subscribers = reports.reduce((n, r) => n + r.sockets, 0);
  const deliveries = reports.reduce((n, r) => n + r.receivedInWindow, 0);
  const sentReceived = reports.reduce((n, r) => n + r.sentInWindowReceived, 0);
  const latency = mergeHistograms(reports.map((r) => r.latency));
  const closes: Record<string, number> = {};
  for (const r of reports) {
    for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
  }
  const bytes = reports.reduce((n, r) => n + r.meanFrameBytes * r.receivedInWindow, 0);
  const own = (s: Server): number =>
    reports.reduce(
      (n, r, i) => n + (target.subscriberUrls[i] === s.wsUrl ? r.receivedInWindow : 0),
      0,
    );
  return {
    phase: phase.name,
    kind: target.kind,
    offeredMsgPerSec: phase.rate,
    windowSec,
    subscribers,
    deliveriesPerMessage: subscribers,
    publishedInWindow: pub.sentInWindow,
    publishedPerSec: pub.sentInWindow / windowSec,
    deliveriesInWindow: deliveries,
    deliveriesPerSec: deliveries / windowSec,
    messagesPerSec: deliveries / windowSec / Math.max(1, subscribers),
    completeness: pub.sentInWindow > 0 ? sentReceived / (pub.sentInWindow * subscribers) : 0,
    latencyMs: latencySummary(latency),
    ackLatencyMs: { p50: quantileMs(pub.ackLatency, 0.5), p99: quantileMs(pub.ackLatency, 0.99) },
    ...cpuFigures(meter, settings.measureMs, samples, deliveries, own),
    serverRssKb: rss,
    meanFrameBytes: deliveries > 0 ? bytes / deliveries : 0,
    publisherErrors: pub.errors,
    unacknowledged: pub.outstanding,
    closes,
  };
}

export function latencySummary(latency: HistogramData): FanoutPhaseResult['latencyMs'] {
  return {
    p50: quantileMs(latency, 0.5),
    p99: quantileMs(latency, 0.99),
    max: latency.maxUs / 1000,
    mean: latency.count > 0 ? latency.sumUs / latency.count / 1000 : NaN,
    samples: latency.count,
  };
}

/**
 * Several windows of one phase as one row: the window with the median server CPU per delivery,
 * with the headline figures (throughput, latency, CPU, noise) replaced by their medians.
 */
export function medianWindow(windows: FanoutPhaseResult[]): FanoutPhaseResult {
  const byCpu = [...windows].sort((a, b) => a.serverCpuUsPerDelivery - b.serverCpuUsPerDelivery);
  const base = byCpu[Math.floor((byCpu.length - 1) / 2)];
  if (!base) throw new Error('no window to summarize');
  const med = (pick: (r: FanoutPhaseResult) => number): number => median(windows.map(pick));
  return {
    ...base,
    deliveriesPerSec: med((r) => r.deliveriesPerSec),
    messagesPerSec: med((r) => r.messagesPerSec),
    publishedPerSec: med((r) => r.publishedPerSec),
    completeness: med((r) => r.completeness),
    latencyMs: {
      ...base.latencyMs,
      p50: med((r) => r.latencyMs.p50),
      p99: med((r) => r.latencyMs.p99),
      max: Math.max(...windows.map((r) => r.latencyMs.max)),
    },
    serverCpuUsPerDelivery: med((r) => r.serverCpuUsPerDelivery),
    brokerCpuUsPerDelivery:
      base.brokerCpuUsPerDelivery === null ? null : med((r) => r.brokerCpuUsPerDelivery ?? 0),
    unattributedPct: med((r) => r.unattributedPct),
    windows: windows.map((r) => ({
      deliveriesPerSec: r.deliveriesPerSec,
      completeness: r.completeness,
      p50: r.latencyMs.p50,
      p99: r.latencyMs.p99,
      serverCpuUsPerDelivery: r.serverCpuUsPerDelivery,
      unattributedPct: r.unattributedPct,
    })),
  };
}

function diff(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((a, b) => a + b, 0);
}

export function summary(r: FanoutPhaseResult): string {
  const problems = [
    ...Object.entries(r.publisherErrors).map(([code, n]) => `${n} ${code} errors`),
    ...(r.unacknowledged > 0 ? [`${r.unacknowledged} sends unacknowledged`] : []),
    ...Object.entries(r.closes).map(([code, n]) => `${n} sockets closed ${code}`),
  ];
  return (
    `${Math.round(r.publishedPerSec)} msg/s published, ` +
    `${Math.round(r.deliveriesPerSec).toLocaleString('en-US')} deliveries/s, ` +
    `p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, ` +
    `server ${r.serverCpuUsPerDelivery.toFixed(2)} µs CPU/delivery, ` +
    `complete ${(100 * r.completeness).toFixed(2)} %, machine ${r.machine.busy.toFixed(0)} % busy ` +
    `(${r.unattributedPct.toFixed(0)} % unattributed)` +
    (problems.length > 0 ? `; ${problems.join(', ')}` : '')
  );
}
