import { monoUs, sleepUntil } from './clock';
import {
  cpuFigures,
  latencySummary,
  serverRss,
  summary,
  takeSample,
  type FanoutPhase,
  type FanoutPhaseResult,
  type FanoutSettings,
  type Meter,
  type Sample,
} from './fanout';
import { mergeHistograms, quantileMs } from './histogram';
import type { Auth, ChatReport } from './protocol';
import type { Server } from './servers';
import { LoadWorker } from './workers';

export interface ChatTarget {
  kind: 'ours' | 'raw';
  /** Each chatters process spreads its sockets over these (ours: both replicas). */
  urls: string[];
  servers: Server[];
  brokerPid?: number;
  auth: (prefix: string) => Auth;
}

export interface ChatLoad {
  mode: 'rooms' | 'dms';
  processes: number;
  usersPerProcess: number;
  roomSize: number;
}

/** As for the big room, but `maxRateWindow` is the messages in flight per chatters process. */
export type ChatSettings = Omit<FanoutSettings, 'subscribersPerProcess'>;

/**
 * Many small rooms or direct messages: users in load-generator processes chat among themselves,
 * so that every process sends and receives (see `Chatters`). Kept open across windows.
 */
export class ChatSession {
  private constructor(
    readonly target: ChatTarget,
    readonly load: ChatLoad,
    private readonly workers: LoadWorker[],
  ) {}

  static async open(
    target: ChatTarget,
    load: ChatLoad,
    log: (line: string) => void,
  ): Promise<ChatSession> {
    const workers: LoadWorker[] = [];
    try {
      for (let i = 0; i < load.processes; i++) {
        workers.push(await LoadWorker.start(`${target.kind}-${load.mode}-${i + 1}`));
      }
      const opened = await Promise.all(
        workers.map((w, i) =>
          w.call('chatSetup', {
            urls: target.urls,
            auth: target.auth(`${load.mode}${i + 1}-`),
            prefix: `${load.mode}${i + 1}-`,
            count: load.usersPerProcess,
            mode: load.mode,
            roomSize: load.roomSize,
            concurrency: 50,
          }),
        ),
      );
      const ms = Math.max(...opened.map((o) => o.elapsedMs));
      log(
        `  ${target.kind}: ${load.processes * load.usersPerProcess} ${load.mode} users ready in ${Math.round(ms)} ms`,
      );
      return new ChatSession(target, load, workers);
    } catch (error) {
      await Promise.all(workers.map((w) => w.stop()));
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  /** One window: warm-up, then a measured window; `phase.rate` is for all processes together. */
  async run(
    phase: FanoutPhase,
    settings: ChatSettings,
    log: (line: string) => void,
  ): Promise<FanoutPhaseResult> {
    const { target, workers } = this;
    log(
      `  ${target.kind} ${phase.name}: ${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s measured`,
    );
    const t0Us = monoUs() + 500_000 + settings.warmupMs * 1000;
    const t1Us = t0Us + settings.measureMs * 1000;
    const meter: Meter = {
      servers: target.servers,
      brokerPid: target.brokerPid,
      loadPids: Object.fromEntries(workers.map((w) => [w.proc.name, w.pid])),
    };
    const rate = phase.rate === null ? null : phase.rate / workers.length;
    const reports = Promise.all(
      workers.map((w) =>
        w.call(
          'chat',
          { t0Us, t1Us, rate, window: settings.maxRateWindow, padTo: settings.padTo },
          settings.warmupMs + settings.measureMs + 60_000,
        ),
      ),
    );
    await sleepUntil(t0Us);
    const start = takeSample(meter);
    await settings.onWindowStart?.();
    await sleepUntil(t1Us);
    const end = takeSample(meter);
    const rss = serverRss(target.servers);
    await settings.onWindowEnd?.();
    const result = this.aggregate(phase, settings, await reports, meter, [start, end], rss);
    log(`    → ${summary(result)}`);
    return result;
  }

  private aggregate(
    phase: FanoutPhase,
    settings: ChatSettings,
    reports: ChatReport[],
    meter: Meter,
    samples: [Sample, Sample],
    rss: Record<string, number>,
  ): FanoutPhaseResult {
    const windowSec = settings.measureMs / 1000;
    const total = (pick: (r: ChatReport) => number): number =>
      reports.reduce((n, r) => n + pick(r), 0);
    const deliveries = total((r) => r.receivedInWindow);
    const sentInWindow = total((r) => r.sentInWindow);
    const expected = total((r) => r.sentInWindow * r.deliveriesPerMessage);
    const errors: Record<string, number> = {};
    const closes: Record<string, number> = {};
    for (const r of reports) {
      for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
      for (const [k, n] of Object.entries(r.closes)) closes[k] = (closes[k] ?? 0) + n;
    }
    const ack = mergeHistograms(reports.map((r) => r.ackLatency));
    const reply = mergeHistograms(reports.map((r) => r.replyLatency));
    // Sockets are spread evenly over the servers' URLs.
    const share = (s: Server): number =>
      (deliveries * this.target.urls.filter((u) => u === s.wsUrl).length) / this.target.urls.length;
    return {
      phase: phase.name,
      kind: this.target.kind,
      offeredMsgPerSec: phase.rate,
      windowSec,
      subscribers: total((r) => r.sockets),
      deliveriesPerMessage: reports[0]?.deliveriesPerMessage ?? 1,
      publishedInWindow: sentInWindow,
      publishedPerSec: sentInWindow / windowSec,
      deliveriesInWindow: deliveries,
      deliveriesPerSec: deliveries / windowSec,
      messagesPerSec:
        deliveries /
        windowSec /
        Math.max(
          1,
          total((r) => r.sockets),
        ),
      completeness: expected > 0 ? total((r) => r.sentInWindowReceived) / expected : 0,
      latencyMs: latencySummary(mergeHistograms(reports.map((r) => r.latency))),
      ackLatencyMs: { p50: quantileMs(ack, 0.5), p99: quantileMs(ack, 0.99) },
      ...(reply.count > 0 && {
        replyLatencyMs: { p50: quantileMs(reply, 0.5), p99: quantileMs(reply, 0.99) },
      }),
      ...cpuFigures(meter, settings.measureMs, samples, deliveries, share),
      serverRssKb: rss,
      meanFrameBytes: deliveries > 0 ? total((r) => r.receivedBytes) / deliveries : 0,
      publisherErrors: errors,
      unacknowledged: total((r) => r.outstanding),
      closes,
    };
  }
}
