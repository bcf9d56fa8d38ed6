import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type Closable } from '@app/testing';

const ROOT = join(__dirname, '..', '..');

/** What deployments run (Dockerfile CMD, `start:prod`): the build, not ts-node. */
export const BUILD_ENTRY = join(ROOT, 'dist', 'src', 'main.js');

const OUTPUT_TAIL_CHARS = 64 * 1024;
const PORT_ATTEMPTS = 3;
const POLL_MS = 100;

export interface ChildReplicaOptions {
  /** `REPLICA_ID`: the `welcome` frame names it, and so do error messages. */
  id: string;
  /** `NATS_URL`; unset runs the embedded relay (a replica alone). */
  natsUrl?: string;
  /** A fixed port; by default a free one, retried if another process takes it first. */
  port?: number;
  /** More environment, over the defaults (`NODE_ENV=test`, `LOG_LEVEL=warn`). */
  env?: Record<string, string>;
  /** How long `start` and `restart` wait for `GET /health/ready` to answer 200. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Only what the replica needs from this environment: a developer's own `JWT_SECRET`, `NATS_URL` or
 * `NODE_ENV` must not change what a test sees.
 */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Every replica still running in this process, killed on exit so none outlives jest. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One OS process of the built application. */
class ReplicaProcess {
  private tail = '';
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  private status?: ExitStatus;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [BUILD_ENTRY], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.child);
    killAllOnExit();
    // The pipes must be drained or the child blocks once they fill.
    const append = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      const done = (status: ExitStatus): void => {
        if (this.status) return;
        this.status = status;
        running.delete(this.child);
        resolve(status);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      // A failed spawn emits 'error' and may never emit 'exit'.
      this.child.once('error', (err) => {
        this.tail += `\n${err.message}`;
        done({ code: null, signal: null });
      });
    });
  }

  get output(): string {
    return this.tail;
  }

  get hasExited(): boolean {
    return this.status !== undefined;
  }
}

/**
 * A replica of the built application (`node dist/src/main.js`) as a child process, for what an
 * in-process app cannot show: SIGTERM and its drain, `kill -9`, restarts on the same port, a load
 * balancer in front. `npm run build` first (`npm test` does).
 *
 * ```ts
 * const a = await ChildReplica.start({ id: 'a', natsUrl: nats.url });
 * a.signal('SIGTERM');
 * expect(await a.waitForExit()).toEqual({ code: 0, signal: null });
 * ```
 */
export class ChildReplica implements Closable {
  private current: ReplicaProcess;

  private constructor(
    readonly id: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly readyTimeoutMs: number,
    first: ReplicaProcess,
  ) {
    this.current = first;
  }

  /** Starts the replica and resolves once `/health/ready` answers 200; rejects with its output. */
  static async start(options: ChildReplicaOptions): Promise<ChildReplica> {
    if (!existsSync(BUILD_ENTRY)) {
      throw new Error(
        `${BUILD_ENTRY} is missing: run \`npm run build\` first (npm test and npm run test:e2e do)`,
      );
    }
    const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      const env = {
        ...baseEnv(),
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        ...(options.natsUrl !== undefined && { NATS_URL: options.natsUrl }),
        ...options.env,
        PORT: String(port),
        REPLICA_ID: options.id,
      };
      const proc = new ReplicaProcess(env);
      const replica = new ChildReplica(options.id, port, env, readyTimeoutMs, proc);
      try {
        await replica.ready();
        return replica;
      } catch (error) {
        await replica.kill();
        // freePort() can race with another process taking the port; a fresh port fixes that.
        const portTaken = proc.output.includes('EADDRINUSE');
        if (options.port !== undefined || !portTaken || attempt >= PORT_ATTEMPTS) throw error;
      }
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get pid(): number | undefined {
    return this.current.child.pid;
  }

  /** True until the current process has exited. */
  get running(): boolean {
    return !this.current.hasExited;
  }

  /** The last 64 KiB of the current process's stdout and stderr. */
  get output(): string {
    return this.current.output;
  }

  /** Resolves once `GET /health/ready` answers 200; rejects, with the output, if it exits first. */
  async ready(): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      const status = await fetch(`${this.url}/health/ready`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      if (this.current.hasExited) {
        const { code, signal } = await this.current.exited;
        throw new Error(
          `replica ${this.id} exited (code ${code}, signal ${signal}) before it was ready:\n${this.output}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `replica ${this.id} not ready within ${this.readyTimeoutMs} ms (last /health/ready: ${status}):\n${this.output}`,
        );
      }
      await delay(POLL_MS);
    }
  }

  /** Sends a signal and returns at once: SIGTERM starts the drain, SIGKILL is a crash. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.current.child.kill(signal);
  }

  /** The exit of the current process (already resolved if it has exited). */
  waitForExit(): Promise<ExitStatus> {
    return this.current.exited;
  }

  /**
   * SIGTERM and wait for the exit: the drain takes up to `DRAIN_WINDOW_MS` and a little more.
   * Past `timeoutMs` the process is killed and the promise rejects, naming the replica.
   */
  async terminate(timeoutMs = 30_000): Promise<ExitStatus> {
    if (!this.running) return this.current.exited;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.current.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      await this.kill();
      throw new Error(
        `replica ${this.id} did not exit within ${timeoutMs} ms of SIGTERM:\n${this.output}`,
      );
    }
    return result;
  }

  /** SIGKILL (a crash) and wait for the exit. */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.current.exited;
  }

  /** Starts the replica again on the same port and environment (killing it first if it runs). */
  async restart(): Promise<void> {
    await this.kill();
    this.current = new ReplicaProcess(this.env);
    await this.ready();
  }

  /** For `afterAll`: kills the replica if it still runs. */
  async close(): Promise<void> {
    await this.kill();
  }
}
