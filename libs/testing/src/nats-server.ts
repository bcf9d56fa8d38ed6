import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port';

export interface NatsServerOptions {
  /** Enables JetStream with a fresh temporary store directory (`-js -sd`). Default true. */
  jetstream?: boolean;
  /** Extra command-line arguments, appended last (for example `['-m', '8222']` for monitoring). */
  args?: string[];
}

/** A `nats-server` child process owned by the test that started it. */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory, undefined without JetStream. Kept across `kill()`/`restart()`. */
  readonly storeDir: string | undefined;
  /** SIGTERM, waits for the exit, removes the store. The handle cannot be restarted afterwards. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), waits for the exit, keeps the store so `restart()` recovers JetStream. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and store (stopping it first if it runs). */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_CHARS = 64 * 1024;
const PORT_ATTEMPTS = 3;

/** Every server still running in this process, killed on exit so none outlives jest. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** `NATS_SERVER_BIN`, else `nats-server` from PATH, else the sbin dirs Debian installs into. */
export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  return 'nats-server';
}

class ServerProcess {
  private output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private hasExited = false;

  constructor(bin: string, args: string[]) {
    this.child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    killAllOnExit();
    // The server logs to stderr; the pipes must be drained or it blocks once they fill.
    const append = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        if (this.hasExited) return;
        this.hasExited = true;
        running.delete(this.child);
        resolve();
      };
      this.child.once('exit', done);
      // A failed spawn (ENOENT) emits 'error' and may never emit 'exit'.
      this.child.once('error', (err) => {
        this.output += `\n${err.message}`;
        done();
      });
    });
  }

  get log(): string {
    return this.output;
  }

  /** Resolves when the server logs that it accepts clients; rejects with its output otherwise. */
  async ready(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!this.output.includes('Server is ready')) {
      if (this.hasExited)
        throw new Error(`nats-server exited before it was ready:\n${this.output}`);
      if (Date.now() > deadline) {
        await this.signal('SIGKILL');
        throw new Error(`nats-server not ready within ${READY_TIMEOUT_MS} ms:\n${this.output}`);
      }
      await Promise.race([this.exited, this.nextOutput(deadline - Date.now())]);
    }
  }

  /** Sends `signal` and waits for the exit; escalates to SIGKILL if SIGTERM is ignored. */
  async signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    if (this.hasExited) return;
    this.child.kill(signal);
    const exitedInTime = await Promise.race([
      this.exited.then(() => true),
      delay(STOP_TIMEOUT_MS).then(() => false),
    ]);
    if (!exitedInTime) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private nextOutput(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, Math.max(timeoutMs, 0));
      const streams = [this.child.stdout, this.child.stderr];
      function finish(): void {
        clearTimeout(timer);
        for (const s of streams) s?.off('data', finish);
        resolve();
      }
      for (const s of streams) s?.on('data', finish);
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Spawns `nats-server -a 127.0.0.1 -p <free port> [-js -sd <temp dir>]` and resolves once it is
 * ready for clients. Rejects with the server's output if it does not come up within 10 s. Call
 * `stop()` in `afterAll`; servers left running are killed when the process exits.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const jetstream = options.jetstream ?? true;
  const storeDir = jetstream ? await mkdtemp(join(tmpdir(), 'nats-store-')) : undefined;
  const bin = natsServerBinary();
  const argsFor = (port: number): string[] => [
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    ...(storeDir === undefined ? [] : ['-js', '-sd', storeDir]),
    ...(options.args ?? []),
  ];

  let port = 0;
  let server: ServerProcess | undefined;
  try {
    // freePort() can race with another process taking the port; a fresh port fixes that.
    for (let attempt = 1; server === undefined; attempt++) {
      port = await freePort();
      const candidate = new ServerProcess(bin, argsFor(port));
      try {
        await candidate.ready();
        server = candidate;
      } catch (err) {
        if (attempt >= PORT_ATTEMPTS || !candidate.log.includes('address already in use'))
          throw err;
      }
    }
  } catch (err) {
    if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
    throw err;
  }

  let current: ServerProcess = server;
  let stopped = false;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await current.signal('SIGTERM');
      if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
    },
    async kill() {
      await current.signal('SIGKILL');
    },
    async restart() {
      if (stopped)
        throw new Error('nats-server was stopped and its store removed; start a new one');
      await current.signal('SIGTERM');
      current = new ServerProcess(bin, argsFor(port));
      await current.ready();
    },
  };
}
