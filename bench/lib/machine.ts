import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { openFilesLimit } from './proc-stats';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  natsServer: string;
  kernel: string;
  openFiles: { soft: number; hard: number };
}

export function machineInfo(natsBinary = 'nats-server'): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    natsServer:
      run(natsBinary, ['--version']) ?? run('/usr/sbin/nats-server', ['--version']) ?? 'not found',
    kernel: run('uname', ['-r']) ?? 'unknown',
    openFiles: openFilesLimit(),
  };
}

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** The commit the work tree is at, and how many files differ from it (dist/ is built from those). */
export function sourceState(): { commit: string; dirtyFiles: number } {
  const commit = run('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const status = run('git', ['status', '--porcelain']) ?? '';
  return { commit, dirtyFiles: status ? status.split('\n').length : 0 };
}
