import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { basename, join } from 'node:path';
import { transpileModule, ModuleKind, ScriptTarget } from 'typescript';
import { freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import type { AgentRequest, LoopReport } from '../server-agent';
import { sleep } from './clock';
import { ManagedProcess } from './processes';
import { natsServerPid } from './proc-stats';

const ROOT = join(__dirname, '..', '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
/** Transpiled server-side bench code lives here, under node_modules' reach (and gitignored). */
const BUILD_DIR = join(RESULTS_DIR, '.build');
const DIST = join(ROOT, 'dist');
/** The replicas run a private copy of dist/, so a concurrent `npm run build` cannot pull it away. */
const PRODUCT_COPY = join(BUILD_DIR, 'product', 'dist');
const PRODUCT_MAIN = join(PRODUCT_COPY, 'src', 'main.js');
const READY_TIMEOUT_MS = 30_000;
/** Sockets per server process plus headroom (10,000 idle connections on one replica). */
export const MIN_OPEN_FILES = 12_000;

/** Our replicas run as deployed: production mode, our own secret, logs at warn. */
export interface ReplicaSettings {
  natsUrl: string;
  secret: string;
}

/** A server under measurement, with the bench agent preloaded (see server-agent.ts). */
export class Server {
  constructor(
    readonly name: string,
    readonly proc: ManagedProcess,
    readonly port: number,
    readonly wsUrl: string,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /** Full GC in the server, then its memory as Node sees it. */
  async gc(): Promise<NodeJS.MemoryUsage> {
    const answer = await this.agent({ agent: 'gc' });
    return answer.memory as NodeJS.MemoryUsage;
  }

  async profileStart(intervalUs: number): Promise<void> {
    await this.agent({ agent: 'profileStart', intervalUs });
  }

  async profileStop(file: string): Promise<void> {
    await this.agent({ agent: 'profileStop', file });
  }

  async heapSampleStart(intervalBytes: number, includeCollected = false): Promise<void> {
    await this.agent({ agent: 'heapSampleStart', intervalBytes, includeCollected });
  }

  async heapSampleStop(file: string): Promise<void> {
    await this.agent({ agent: 'heapSampleStop', file });
  }

  /** Starts measuring the event loop's delay and the GC pauses (see server-agent.ts). */
  async loopStart(): Promise<void> {
    await this.agent({ agent: 'loopStart' });
  }

  async loopStop(): Promise<LoopReport> {
    const answer = await this.agent({ agent: 'loopStop' });
    return answer.loop as LoopReport;
  }

  stop(): Promise<number | null> {
    return this.proc.stop('SIGTERM');
  }

  private async agent(
    request: DistributiveOmit<AgentRequest, 'id'>,
  ): Promise<Record<string, unknown>> {
    const answer = await this.proc.call(request, 30_000);
    if (typeof answer.error === 'string') throw new Error(`${this.name} agent: ${answer.error}`);
    return answer;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Transpiles a bench TS file to JS next to the results, so servers run it without ts-node. */
function transpiled(file: string): string {
  mkdirSync(BUILD_DIR, { recursive: true });
  const source = readFileSync(join(ROOT, 'bench', file), 'utf8');
  const { outputText } = transpileModule(source, {
    compilerOptions: {
      module: ModuleKind.CommonJS,
      target: ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const out = join(BUILD_DIR, basename(file).replace(/\.ts$/, '.js'));
  writeFileSync(out, outputText);
  return out;
}

let agentJs: string | undefined;
function serverNodeArgs(): string[] {
  agentJs ??= transpiled('server-agent.ts');
  return ['--expose-gc', '-r', agentJs];
}

/**
 * Copies dist/ (the output of `npm run build`) aside and returns when it was built. Waits a little
 * if a build is in progress elsewhere (nest deletes dist/ first).
 */
export async function snapshotProduct(): Promise<Date> {
  const main = join(DIST, 'src', 'main.js');
  for (let i = 0; i < 60 && !existsSync(main); i++) await sleep(1000);
  if (!existsSync(main)) throw new Error('dist/src/main.js not found: run `npm run build` first');
  await sleep(1000); // let a build that just wrote main.js finish its other files
  rmSync(join(BUILD_DIR, 'product'), { recursive: true, force: true });
  cpSync(DIST, PRODUCT_COPY, { recursive: true });
  if (!existsSync(PRODUCT_MAIN)) throw new Error('dist/ changed while it was copied; run again');
  return statSync(main).mtime;
}

export async function startReplica(
  name: string,
  settings: ReplicaSettings,
  extraEnv: Record<string, string> = {},
): Promise<Server> {
  const port = await freePort();
  const proc = new ManagedProcess(name, process.execPath, [...serverNodeArgs(), PRODUCT_MAIN], {
    ipc: true,
    minOpenFiles: MIN_OPEN_FILES,
    env: {
      NODE_ENV: 'production',
      PORT: String(port),
      NATS_URL: settings.natsUrl,
      REPLICA_ID: name,
      JWT_SECRET: settings.secret,
      LOG_LEVEL: 'warn',
      // One publisher sends thousands of frames/s; the default 100/s would (rightly) refuse it.
      WS_RATE_PER_SECOND: '1000000',
      WS_RATE_BURST: '1000000',
      DRAIN_WINDOW_MS: '0',
      ...extraEnv,
    },
  });
  await waitHttpOk(`http://127.0.0.1:${port}/health/ready`, proc);
  return new Server(name, proc, port, `ws://127.0.0.1:${port}/ws`);
}

export async function startRawServer(name: string): Promise<Server> {
  const port = await freePort();
  const script = transpiled('raw-ws-server.ts');
  const proc = new ManagedProcess(name, process.execPath, [...serverNodeArgs(), script], {
    ipc: true,
    minOpenFiles: MIN_OPEN_FILES,
    env: { PORT: String(port) },
  });
  await proc.waitForOutput('ready', READY_TIMEOUT_MS);
  return new Server(name, proc, port, `ws://127.0.0.1:${port}/`);
}

export interface Nats {
  handle: NatsServerHandle;
  pid: number;
}

/** Our own nats-server (JetStream, temp store, free loopback port), never the one on 4222. */
export async function startNats(): Promise<Nats> {
  const handle = await startNatsServer({ jetstream: true });
  // The helper does not expose the pid: found by the port on its command line.
  const pid = natsServerPid(handle.port);
  if (pid === undefined) throw new Error(`no nats-server process listening on ${handle.port}`);
  return { handle, pid };
}

async function waitHttpOk(url: string, proc: ManagedProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!proc.alive) throw new Error(`${proc.name} exited:\n${proc.log}`);
    if ((await httpStatus(url)) === 200) return;
    await sleep(100);
  }
  proc.kill();
  throw new Error(`${proc.name} not ready within ${READY_TIMEOUT_MS} ms:\n${proc.log}`);
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => req.destroy());
  });
}
