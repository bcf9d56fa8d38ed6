import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { withTimeout } from './clock';
import { openFilesLimit } from './proc-stats';

const OUTPUT_TAIL_CHARS = 16 * 1024;
const STOP_TIMEOUT_MS = 10_000;

/** Every child of this run, so that the hard timeout (or a crash) can kill them all. */
const running = new Set<ManagedProcess>();

export function killAll(): void {
  for (const child of running) child.kill();
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Opens an IPC channel (workers, and servers with the bench agent). */
  ipc?: boolean;
  /** Raise the soft open-files limit to at least this (via `ulimit -n` in a wrapping shell). */
  minOpenFiles?: number;
}

/** A child process with its output tail kept for error messages and an exit promise. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private output = '';
  private hasExited = false;
  private nextId = 1;
  private readonly waiting = new Map<number, (message: Record<string, unknown>) => void>();

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: SpawnOptions = {},
  ) {
    const stdio: StdioOptions = [
      'ignore',
      'pipe',
      'pipe',
      ...(options.ipc ? ['ipc' as const] : []),
    ];
    const [cmd, argv] = withOpenFiles(command, args, options.minOpenFiles);
    this.child = spawn(cmd, argv, { stdio, env: { ...baseEnv(), ...options.env } });
    running.add(this);
    const append = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.child.on('message', (message: unknown) => {
      if (typeof message !== 'object' || message === null) return;
      const record = message as Record<string, unknown>;
      const id = typeof record.id === 'number' ? record.id : -1;
      this.waiting.get(id)?.(record);
      this.waiting.delete(id);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.hasExited = true;
        running.delete(this);
        resolve(code);
      });
      this.child.once('error', (error) => {
        this.output += `\n${error.message}`;
        this.hasExited = true;
        running.delete(this);
        resolve(null);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`);
    return this.child.pid;
  }

  get log(): string {
    return this.output;
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  /** Resolves when the output contains `text`; rejects if the process exits first. */
  async waitForOutput(text: string, timeoutMs: number): Promise<void> {
    const found = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.output.includes(text)) resolve();
      };
      this.child.stdout?.on('data', check);
      this.child.stderr?.on('data', check);
      check();
      void this.exited.then(() => reject(new Error(`${this.name} exited:\n${this.output}`)));
    });
    await withTimeout(found, timeoutMs, `${this.name} printing "${text}"`);
  }

  /** Sends an IPC message carrying a fresh `id` and resolves with the answer of the same id. */
  call(message: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.waiting.set(id, resolve);
      void this.exited.then(() => reject(new Error(`${this.name} exited:\n${this.output}`)));
    });
    this.child.send({ ...message, id });
    return withTimeout(answer, timeoutMs, `${this.name}: ${JSON.stringify(message).slice(0, 80)}`);
  }

  /** SIGTERM (or `signal`), then SIGKILL if it has not exited within the timeout. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.hasExited) this.child.kill(signal);
    const timer = setTimeout(() => this.kill(), STOP_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }
}

/**
 * Children get a minimal environment plus what they are given: a NATS_URL or NODE_ENV exported in
 * the caller's shell must not leak into a measured server (port 4222 is someone else's).
 */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ'];
  return Object.fromEntries(
    keep.flatMap((key) => (process.env[key] === undefined ? [] : [[key, process.env[key]]])),
  );
}

function withOpenFiles(command: string, args: string[], min?: number): [string, string[]] {
  const { soft, hard } = openFilesLimit();
  if (min === undefined || soft >= min) return [command, args];
  if (hard < min) throw new Error(`open files hard limit ${hard} < ${min} needed; raise it first`);
  // `exec` keeps the pid, so /proc/<pid> still names the measured process.
  return ['/bin/sh', ['-c', `ulimit -S -n ${min} && exec "$0" "$@"`, command, ...args]];
}
