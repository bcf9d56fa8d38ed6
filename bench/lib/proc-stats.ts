import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

// The one reader of /proc (Linux) for the benchmarks and the failover tests: CPU, memory, the
// machine's load, open-file limits, sockets and the listen queue. Figures only, no decisions.

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK, 100 on Linux in practice). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * utime + stime of `pid` in ms (/proc/<pid>/stat fields 14 and 15, all threads; 10 ms units).
 * With `thread`, of that thread only (/proc/<pid>/task/<tid>/stat; the main thread's tid is pid).
 */
export function cpuMs(pid: number, thread?: number): number {
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** Resident set size of `pid` now and at its peak, in KiB (/proc/<pid>/status VmRSS, VmHWM). */
export function memoryKb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${field} for pid ${pid}`);
    return Number(match[1]);
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resident set size of `pid` in KiB (/proc/<pid>/status VmRSS). */
export function rssKb(pid: number): number {
  return memoryKb(pid).rss;
}

export interface MachineTicks {
  user: number;
  system: number;
  softirq: number;
  steal: number;
  busy: number;
  total: number;
}

/** Time of all CPUs since boot by kind, in ticks (/proc/stat first line). */
export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => v[i] ?? 0;
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return {
    user: at(0) + at(1),
    system: at(2) + at(5),
    softirq: at(6),
    steal: at(7),
    busy: total - at(3) - at(4),
    total,
  };
}

/** Share of the machine's CPU time (all cores) spent on each kind between two samples, in %. */
export function machineUsage(before: MachineTicks, after: MachineTicks): MachineTicks {
  const span = Math.max(1, after.total - before.total);
  const pct = (k: keyof MachineTicks): number => (100 * (after[k] - before[k])) / span;
  return {
    user: pct('user'),
    system: pct('system'),
    softirq: pct('softirq'),
    steal: pct('steal'),
    busy: pct('busy'),
    total: 100,
  };
}

/** CPU ms of several processes (or of their main threads), sampled together. */
export function sampleCpu(
  pids: Record<string, number>,
  mainThread = false,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid, mainThread ? pid : undefined)]),
  );
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The soft and hard open-files limits of this process (children inherit them). */
export function openFilesLimit(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line?.match(/\d+|unlimited/g) ?? []).map((v) =>
    v === 'unlimited' ? Infinity : Number(v),
  );
  return { soft: soft ?? 1024, hard: hard ?? 1024 };
}

/** The pid of the nats-server listening on `port`, if any (its command line has `-p <port>`). */
export function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const p = argv.indexOf('-p');
      if (basename(argv[0] ?? '') === 'nats-server' && argv[p + 1] === String(port)) {
        return Number(entry);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/**
 * The remote TCP ports of the established connections of process `pid`: which nats-server node a
 * replica is connected to.
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

/** TcpExt ListenOverflows and ListenDrops from /proc/net/netstat (the whole machine). */
export function listenCounters(): { overflows: number; drops: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = (lines[at] ?? '').split(/\s+/);
  const values = (lines[at + 1] ?? '').split(/\s+/).map(Number);
  const value = (name: string): number => values[names.indexOf(name)] ?? 0;
  return { overflows: value('ListenOverflows'), drops: value('ListenDrops') };
}
