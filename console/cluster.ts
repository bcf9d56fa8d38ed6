import { byId, h } from './dom';
import { fetchCluster, type ReplicaReport } from './service';

const POLL_MS = 2_000;

type Counter = 'framesIn' | 'framesOut' | 'deliveries';
const COUNTERS: Counter[] = ['framesIn', 'framesOut', 'deliveries'];

export type Rates = Record<Counter, number>;

/**
 * Per-second rates between two reports of one replica. The counters are cumulative and change
 * only with each heartbeat, so the interval is the reports' own `reportedAt`, not the polls'.
 */
export function ratesBetween(previous: ReplicaReport, next: ReplicaReport): Rates | undefined {
  const seconds = (next.reportedAt - previous.reportedAt) / 1000;
  if (!(seconds > 0)) return undefined;
  const rate = (counter: Counter): number =>
    // A restarted process starts from zero: no negative rates.
    Math.max(0, ((next[counter] ?? 0) - (previous[counter] ?? 0)) / seconds);
  return {
    framesIn: rate('framesIn'),
    framesOut: rate('framesOut'),
    deliveries: rate('deliveries'),
  };
}

function formatRate(value: number | undefined): string {
  if (value === undefined) return '…';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function age(reportedAt: number): string {
  const seconds = Math.max(0, (Date.now() - reportedAt) / 1000);
  return seconds < 60 ? `${seconds.toFixed(1)} s ago` : `${Math.round(seconds / 60)} min ago`;
}

/** The cluster panel: polls `GET /cluster` while the page is visible and shows rates. */
export class ClusterPanel {
  private readonly rows = byId<HTMLTableSectionElement>('cluster-rows');
  private readonly status = byId('cluster-status');
  /** Per instance: its last report and the rates since the report before it. */
  private readonly reports = new Map<string, { last: ReplicaReport; rates?: Rates }>();
  private timer?: ReturnType<typeof setTimeout>;
  private connectedTo?: string;

  constructor(private readonly token: () => string | undefined) {}

  start(): void {
    void this.poll();
  }

  /** The replica this page's WebSocket is connected to, highlighted in the table. */
  setConnectedReplica(replica: string | undefined): void {
    this.connectedTo = replica;
    void this.poll();
  }

  private async poll(): Promise<void> {
    clearTimeout(this.timer);
    if (document.visibilityState !== 'hidden') {
      const answer = await fetchCluster(this.token());
      if (answer.ok) this.render(answer.replicas);
      else if (answer.status === 401 || answer.status === 403) {
        this.rows.replaceChildren();
        this.status.textContent =
          'The cluster view needs a token with the cluster:read scope (production).';
      } else {
        // Rows that no longer update would look live: show none.
        this.rows.replaceChildren();
        this.status.textContent = `The cluster view is unavailable: ${answer.message}.`;
      }
    }
    this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private render(replicas: ReplicaReport[]): void {
    const seen = new Set<string>();
    const sorted = [...replicas].sort((a, b) => a.replica.localeCompare(b.replica));
    this.rows.replaceChildren(
      ...sorted.map((report) => {
        seen.add(report.instance);
        const known = this.reports.get(report.instance);
        if (!known) this.reports.set(report.instance, { last: report });
        else if (report.reportedAt !== known.last.reportedAt) {
          known.rates = ratesBetween(known.last, report) ?? known.rates;
          known.last = report;
        }
        const rates = this.reports.get(report.instance)?.rates;
        const current = report.replica === this.connectedTo;
        return h(
          'tr',
          { class: current ? 'current' : '', 'data-replica': report.replica },
          h(
            'th',
            { scope: 'row', title: `instance ${report.instance}` },
            report.replica,
            current && ' ',
            current && h('span', { class: 'badge' }, 'connected'),
            report.self && ' ',
            report.self && h('span', { class: 'badge' }, 'served this page'),
          ),
          h('td', { class: 'num' }, String(report.connections ?? '…')),
          h('td', { class: 'num' }, String(report.channels ?? '…')),
          ...COUNTERS.map((counter) => h('td', { class: 'num' }, formatRate(rates?.[counter]))),
          h('td', { class: 'num' }, age(report.reportedAt)),
        );
      }),
    );
    for (const instance of this.reports.keys()) {
      if (!seen.has(instance)) this.reports.delete(instance);
    }
    const count = replicas.length;
    this.status.textContent = `${count} ${count === 1 ? 'replica' : 'replicas'} · every ${POLL_MS / 1000} s`;
  }
}
