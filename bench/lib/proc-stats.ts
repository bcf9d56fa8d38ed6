import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/** Resident set size of `pid` in KiB (/proc/<pid>/status VmRSS). */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
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
