import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type Member, countBy } from './members';

// Process and machine measurements the scenarios log (memory, CPU, sockets).

/** `VmRSS` and `VmHWM` (peak RSS) of a process, in MiB; undefined once it has exited. */
export function memoryOf(pid: number | undefined): { rssMb: number; peakMb: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in seconds; undefined once it has exited. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at state: utime and stime are 12, 13.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU time so far, in seconds (all cores, from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

/** The pid of the nats-server listening on `port` (found in /proc), if any. */
export function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('nats-server') && args[args.indexOf('-p') + 1] === String(port)) {
        return Number(entry);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
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
  const machine = machineCpu();
  return {
    stop() {
      const used = before.map(
        ([name, pid, start]) => `${name} ${((cpuSecondsOf(pid) ?? start) - start).toFixed(1)} s`,
      );
      const mine = process.cpuUsage(own);
      const now = machineCpu();
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

/** `getconf CLK_TCK`: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** This process's soft limit on open files (`ulimit -n`); child replicas inherit it. */
export function openFilesLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = /Max open files\s+(\d+|unlimited)/.exec(limits)?.[1];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

/** Nearest-rank percentile of `values` (unsorted). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The remote TCP ports of the established connections of process `pid` (from /proc): which
 * nats-server node a replica is connected to.
 */
export function remotePortsOf(pid: number | undefined): Set<number> {
  const ports = new Set<number>();
  if (pid === undefined) return ports;
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local rem st tx:rx tr:when retrnsmt uid timeout inode; st 01 = ESTABLISHED
      if (cols.length < 10 || cols[3] !== '01' || !inodes.has(cols[9]!)) continue;
      ports.add(parseInt(cols[2]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
