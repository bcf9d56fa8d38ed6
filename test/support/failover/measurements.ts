import {
  cpuMs,
  machineTicks,
  memoryKb,
  natsServerPid,
  openFilesLimit,
  remotePortsOf,
} from '../../../bench/lib/proc-stats';
import { type Member, countBy } from './members';

// Process and machine measurements the scenarios log (memory, CPU), read by the benchmarks' one
// /proc reader.
export { natsServerPid, openFilesLimit, remotePortsOf };

/** `VmRSS` and `VmHWM` (peak RSS) of a process, in MiB; undefined once it has exited. */
export function memoryOf(pid: number | undefined): { rssMb: number; peakMb: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const { rss, peak } = memoryKb(pid);
    return { rssMb: rss / 1024, peakMb: peak / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in seconds; undefined once it has exited. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return cpuMs(pid) / 1000;
  } catch {
    return undefined;
  }
}

/**
 * Measures, from now until `stop()`, the CPU time used by each process of `pids` (by name), by this
 * process, and how busy the whole machine was.
 */
export function cpuMeter(pids: Record<string, number | undefined>): { stop(): string } {
  const before = Object.entries(pids).map(
    ([name, pid]) => [name, pid, cpuSecondsOf(pid) ?? 0] as const,
  );
  const own = process.cpuUsage();
  const machine = machineTicks();
  return {
    stop() {
      const used = before.map(
        ([name, pid, start]) => `${name} ${((cpuSecondsOf(pid) ?? start) - start).toFixed(1)} s`,
      );
      const mine = process.cpuUsage(own);
      const now = machineTicks();
      const busy = (now.busy - machine.busy) / (now.total - machine.total);
      return (
        `CPU used: ${used.join(', ')}, this process ${((mine.user + mine.system) / 1e6).toFixed(1)} s; ` +
        `machine busy ${(busy * 100).toFixed(0)}%`
      );
    },
  };
}

/**
 * Where the resume time of `members` went after a failure at `since`: the SDK's back-off until its
 * last attempt, the socket's upgrade, the `welcome`, and the re-join until `live`.
 */
export function resumeBreakdown(members: readonly Member[], since: number): string {
  const lastAttempt = (m: Member): number => {
    const d = m.disconnects.filter((x) => x.at < m.welcomedAt).at(-1);
    return d ? d.at + (d.retryInMs ?? 0) : since;
  };
  const spreadOf = (values: number[]): string =>
    `p50 ${percentile(values, 50)}, p95 ${percentile(values, 95)}, max ${percentile(values, 100)} ms`;
  const disconnects = countBy(members, (m) =>
    String(m.disconnects.filter((x) => x.at >= since).length),
  );
  return (
    `live again ${spreadOf(members.map((m) => m.liveAt - since))} after the failure; ` +
    `back-off until the last attempt ${spreadOf(members.map((m) => lastAttempt(m) - since))}; ` +
    `attempt → open ${spreadOf(members.map((m) => m.openedAt - lastAttempt(m)))}; ` +
    `open → welcome ${spreadOf(members.map((m) => m.welcomedAt - m.openedAt))}; ` +
    `welcome → live (re-join) ${spreadOf(members.map((m) => m.liveAt - m.welcomedAt))}; ` +
    `disconnects per client ${JSON.stringify(disconnects)}`
  );
}

/** Nearest-rank percentile of `values` (unsorted). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
