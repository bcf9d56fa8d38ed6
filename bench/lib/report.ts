import type { ProfileSummary } from './cpu-profile';
import type { HeapSummary } from './heap-profile';
import type { FanoutPhase, FanoutPhaseResult } from './fanout';
import type { IdleResult } from './idle';
import type { MachineInfo } from './machine';

export interface Ratio {
  metric: string;
  ours: number;
  raw: number;
  ratio: number;
  target: string;
  /** 'n/a' when the figure does not measure what the target is about (see `note`). */
  met: 'yes' | 'NO' | 'n/a';
  note?: string;
}

const verdict = (ok: boolean): 'yes' | 'NO' => (ok ? 'yes' : 'NO');

/** Below this share of the offered deliveries/s a server did not keep up: latency is queueing. */
const SUSTAINED = 0.95;

function saturated(r: FanoutPhaseResult): boolean {
  return (
    r.offeredMsgPerSec !== null &&
    r.deliveriesPerSec < SUSTAINED * r.offeredMsgPerSec * r.deliveriesPerMessage
  );
}

export interface BenchResults {
  startedAt: string;
  durationSec: number;
  command: string;
  machine: MachineInfo;
  product: { commit: string; dirtyFiles: number; distBuiltAt: string };
  /** Machine CPU busy (% of all cores) in the 2 s before the run started. */
  backgroundLoadPct: number;
  settings: Record<string, unknown>;
  fanout: FanoutPhaseResult[];
  idle: IdleResult[];
  /** The max-rate windows run under the profiler (slower; not used for ratios). */
  profiledRuns: FanoutPhaseResult[];
  ratios: Ratio[];
  profiles: ProfileSummary[];
  heapProfiles: HeapSummary[];
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const n2 = (v: number | null): string => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(2));
const mb = (kb: number): string => (kb / 1024).toFixed(1);

/** A median with the min–max of the windows it summarizes. */
function withRange(value: number, all?: number[]): string {
  if (!all || all.length < 2) return n2(value);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const f = (v: number): string => (v >= 100 ? n0(v) : v.toFixed(v >= 10 ? 1 : 2));
  return `${n2(value)} (${f(lo)}–${f(hi)})`;
}

export function fanoutTable(results: FanoutPhaseResult[]): string {
  return table(
    [
      'phase',
      'server',
      'published msg/s',
      'deliveries/s',
      'p50 ms',
      'p99 ms (range)',
      'max ms',
      'complete %',
      'server CPU µs/delivery (range)',
      'per process (own sockets)',
      'NATS CPU µs/delivery',
      'server RSS MB',
      'machine busy %',
      'unattributed % (max)',
    ],
    results.map((r) => [
      r.phase,
      r.kind === 'ours' ? 'ours (2 replicas)' : 'raw ws (1 process)',
      n0(r.publishedPerSec),
      n0(r.deliveriesPerSec),
      n2(r.latencyMs.p50),
      withRange(
        r.latencyMs.p99,
        r.windows?.map((w) => w.p99),
      ),
      n2(r.latencyMs.max),
      (100 * r.completeness).toFixed(2),
      withRange(
        r.serverCpuUsPerDelivery,
        r.windows?.map((w) => w.serverCpuUsPerDelivery),
      ),
      r.kind === 'raw' ? '' : Object.values(r.serverCpuUsPerOwnDelivery).map(n2).join(' / '),
      n2(r.brokerCpuUsPerDelivery),
      Object.values(r.serverRssKb).map(mb).join(' + '),
      r.machine.busy.toFixed(0),
      `${r.unattributedPct.toFixed(0)} (${Math.max(...(r.windows ?? [r]).map((w) => w.unattributedPct)).toFixed(0)})`,
    ]),
  );
}

export function idleTable(results: IdleResult[]): string {
  return table(
    [
      'idle connections',
      'connected',
      'RSS before MB',
      'RSS after MB',
      'KB/conn (after GC)',
      'KB/conn (no GC)',
      'heap KB/conn',
    ],
    results.map((r) => [
      r.kind === 'ours' ? 'ours (1 replica, authenticated)' : 'raw ws',
      n0(r.connections),
      mb(r.before.rssKb),
      mb(r.after.rssKb),
      n2(r.rssKbPerConnection),
      n2(r.rssKbPerConnectionNoGc),
      n2(r.heapKbPerConnection),
    ]),
  );
}

export function ratioTable(ratios: Ratio[]): string {
  return table(
    ['figure', 'ours', 'raw ws', 'ours/raw', 'target', 'met', 'note'],
    ratios.map((r) => [
      r.metric,
      n2(r.ours),
      n2(r.raw),
      n2(r.ratio),
      r.target,
      r.met,
      r.note ?? '',
    ]),
  );
}

export function profileTables(summary: ProfileSummary, top = 15): string {
  const rows = (entries: ProfileSummary['topSelf']): string[][] =>
    entries.slice(0, top).map((e) => [e.name, n0(e.value), e.pct.toFixed(1)]);
  return [
    `${summary.file}: ${n0(summary.totalMs)} ms CPU sampled (${n0(summary.idleMs)} ms idle)`,
    table(['self time by area', 'ms', '%'], rows(summary.byArea)),
    table(['top self time', 'ms', '%'], rows(summary.topSelf)),
    table(['top inclusive time', 'ms', '%'], rows(summary.topInclusive)),
  ].join('\n\n');
}

export function heapTables(summary: HeapSummary, top = 12): string {
  const rows = (entries: HeapSummary['topSelf']): string[][] =>
    entries.slice(0, top).map((e) => [e.name, n2(e.value), e.pct.toFixed(1)]);
  return [
    `${summary.file}: ${n0(summary.totalKb)} KB of sampled live heap allocated while ${n0(summary.perConnections)} connections opened`,
    table(['live heap by area', 'KB/conn', '%'], rows(summary.byArea)),
    table(['live heap allocated by (self)', 'KB/conn', '%'], rows(summary.topSelf)),
    table(['live heap allocated under (inclusive)', 'KB/conn', '%'], rows(summary.topInclusive)),
  ].join('\n\n');
}

/** The figures the issue sets targets for (each phase's `targets`), from one run. */
export function ratios(
  phases: FanoutPhase[],
  fanout: FanoutPhaseResult[],
  idle: IdleResult[],
): Ratio[] {
  const out: Ratio[] = [];
  for (const phase of phases) {
    const ours = fanout.find((r) => r.kind === 'ours' && r.phase === phase.name);
    const raw = fanout.find((r) => r.kind === 'raw' && r.phase === phase.name);
    if (!ours || !raw) continue;
    const noisy = Math.max(ours.unattributedPct, raw.unattributedPct) > 20;
    const note = noisy
      ? { note: 'noisy: other processes used the machine during the windows' }
      : {};
    const targets = phase.targets ?? {};
    const withNats = ours.serverCpuUsPerDelivery + (ours.brokerCpuUsPerDelivery ?? 0);
    const atMost = (limit: number | undefined, ratio: number): Pick<Ratio, 'target' | 'met'> =>
      limit === undefined
        ? { target: '(info)', met: 'n/a' }
        : { target: `≤ ${limit}`, met: verdict(ratio <= limit) };
    out.push(
      {
        metric: `server CPU µs/delivery @ ${phase.name}`,
        ours: ours.serverCpuUsPerDelivery,
        raw: raw.serverCpuUsPerDelivery,
        ratio: ours.serverCpuUsPerDelivery / raw.serverCpuUsPerDelivery,
        ...atMost(targets.cpu, ours.serverCpuUsPerDelivery / raw.serverCpuUsPerDelivery),
        ...note,
      },
      {
        metric: `  incl. NATS CPU @ ${phase.name}`,
        ours: withNats,
        raw: raw.serverCpuUsPerDelivery,
        ratio: withNats / raw.serverCpuUsPerDelivery,
        ...atMost(targets.cpuWithNats, withNats / raw.serverCpuUsPerDelivery),
        ...note,
      },
    );
    const throughput = ours.deliveriesPerSec / raw.deliveriesPerSec;
    if (phase.rate === null) {
      out.push({
        metric: `deliveries/s @ ${phase.name}`,
        ours: ours.deliveriesPerSec,
        raw: raw.deliveriesPerSec,
        ratio: throughput,
        ...(targets.throughput === undefined
          ? { target: '(info)', met: 'n/a' as const }
          : { target: `≥ ${targets.throughput}`, met: verdict(throughput >= targets.throughput) }),
        ...note,
      });
    }
    const p99 = ours.latencyMs.p99 / raw.latencyMs.p99;
    out.push({
      metric: `p99 latency ms @ ${phase.name}`,
      ours: ours.latencyMs.p99,
      raw: raw.latencyMs.p99,
      ratio: p99,
      ...atMost(targets.p99, p99),
      ...(targets.p99 !== undefined &&
        (saturated(ours) || saturated(raw)) && {
          met: 'n/a' as const,
          note: `not sustained (ours ${Math.round(ours.deliveriesPerSec)}, raw ${Math.round(raw.deliveriesPerSec)} deliveries/s): p99 is queueing`,
        }),
    });
  }
  const [oi, ri] = [idle.find((r) => r.kind === 'ours'), idle.find((r) => r.kind === 'raw')];
  if (oi && ri) {
    out.push({
      metric: 'KB per idle connection (after GC)',
      ours: oi.rssKbPerConnection,
      raw: ri.rssKbPerConnection,
      ratio: oi.rssKbPerConnection / ri.rssKbPerConnection,
      target: 'ours ≤ 8 KB',
      met: verdict(oi.rssKbPerConnection <= 8),
    });
  }
  return out;
}
