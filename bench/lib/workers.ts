import { join } from 'node:path';
import { withTimeout } from './clock';
import { MIN_OPEN_FILES } from './servers';
import { ManagedProcess } from './processes';
import type { CommandName, Commands } from './protocol';

const WORKER = join(__dirname, '..', 'worker.ts');
const START_TIMEOUT_MS = 30_000;

/** A load-generator child process (bench/worker.ts), driven by typed commands over IPC. */
export class LoadWorker {
  private constructor(readonly proc: ManagedProcess) {}

  static async start(name: string): Promise<LoadWorker> {
    const proc = new ManagedProcess(
      name,
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', WORKER],
      { ipc: true, minOpenFiles: MIN_OPEN_FILES },
    );
    const ready = new Promise<void>((resolve) =>
      proc.child.on('message', (m: unknown) => {
        if (typeof m === 'object' && m !== null && 'ready' in m) resolve();
      }),
    );
    await withTimeout(ready, START_TIMEOUT_MS, `${name} start`);
    return new LoadWorker(proc);
  }

  get pid(): number {
    return this.proc.pid;
  }

  async call<K extends CommandName>(
    command: K,
    args: Commands[K]['args'],
    timeoutMs = 60_000,
  ): Promise<Commands[K]['result']> {
    const answer = await this.proc.call({ command, args }, timeoutMs);
    if (answer.ok !== true)
      throw new Error(`${this.proc.name} ${command}: ${String(answer.error)}`);
    return answer.result as Commands[K]['result'];
  }

  async stop(): Promise<void> {
    await this.call('closeAll', null).catch(() => undefined);
    await this.proc.stop('SIGTERM');
  }
}
