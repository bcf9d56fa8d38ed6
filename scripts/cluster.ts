/**
 * A local cluster: nats-server (JetStream, temporary store) and N replicas of the build on
 * consecutive ports, every child's output prefixed with its name; Ctrl-C stops it all.
 *
 *   npm run build && npm run cluster -- --replicas 3 [--port 3000] [--nats-port 4333] [--nats-nodes 3]
 *
 * Replicas run from dist/ (`node dist/src/main.js`, what the Docker image runs) rather than ts-node:
 * they start in a second, and SIGTERM and the drain behave as in production. The environment is
 * passed through (JWT_SECRET, LOG_LEVEL, DRAIN_WINDOW_MS, …); PORT, REPLICA_ID and NATS_URL are set
 * per replica, HISTORY_REPLICAS to the number of NATS nodes unless it is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';

const ROOT = join(__dirname, '..');
const ENTRY = join(ROOT, 'dist', 'src', 'main.js');
const NATS_CONF = join(ROOT, 'deploy', 'nats', 'nats.conf');
const READY_TIMEOUT_MS = 60_000;
const NATS_STOP_TIMEOUT_MS = 5_000;

const USAGE = `usage: npm run cluster -- [--replicas 3] [--port 3000] [--nats-port <port>] [--nats-nodes 1|3]

  --replicas N     replicas to start (1-16), default 3
  --port P         first replica's port; the others take P+1, P+2, … (default 3000)
  --nats-port P    NATS client port (with --nats-nodes 3: P, P+1, P+2); default a free port
  --nats-nodes 1|3 one nats-server, or a three-node cluster with HISTORY_REPLICAS=3 (default 1)

Replicas run from the build: run \`npm run build\` first (and after changing the code).`;

interface Options {
  replicas: number;
  port: number;
  natsPort?: number;
  natsNodes: 1 | 3;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const options: Options = { replicas: 3, port: 3000, natsNodes: 1 };
  const int = (name: string, raw: string | undefined, min: number, max: number): number => {
    const value = Number(raw);
    if (raw === undefined || !/^\d+$/.test(raw) || value < min || value > max) {
      throw new UsageError(
        `${name} must be an integer from ${min} to ${max} (got ${raw ?? 'nothing'})`,
      );
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--replicas':
        options.replicas = int('--replicas', value(), 1, 16);
        break;
      case '--port':
        options.port = int('--port', value(), 1, 65535);
        break;
      case '--nats-port':
        options.natsPort = int('--nats-port', value(), 1, 65535);
        break;
      case '--nats-nodes': {
        const nodes = int('--nats-nodes', value(), 1, 3);
        if (nodes === 2) throw new UsageError('--nats-nodes must be 1 or 3 (a JetStream quorum)');
        options.natsNodes = nodes === 3 ? 3 : 1;
        break;
      }
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  if (options.port + options.replicas - 1 > 65535) throw new UsageError('--port is too high');
  return options;
}

// ---- output --------------------------------------------------------------------------------------

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92];
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
let colorIndex = 0;

function prefixFor(name: string): string {
  const label = `[${name}]`.padEnd(12);
  if (!useColor) return `${label} `;
  const color = COLORS[colorIndex++ % COLORS.length]!;
  return `\u001b[${color}m${label}\u001b[0m `;
}

/** Copies a child's stream to ours line by line, each line prefixed with the child's name. */
function pipeLines(stream: Readable | null, out: NodeJS.WriteStream, prefix: string): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (pending) out.write(`${prefix}${pending}\n`);
  });
}

const say = (line: string): void => {
  process.stdout.write(
    `${useColor ? '\u001b[1m' : ''}[cluster]${useColor ? '\u001b[0m' : ''}    ${line}\n`,
  );
};

// ---- children ------------------------------------------------------------------------------------

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<void>;
  running: boolean;
  /** Set when we stop it, so its exit is not reported as a crash. */
  stopping: boolean;
}

const children: Child[] = [];

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  // Own process group: Ctrl-C reaches this script only, which then stops the replicas before NATS.
  const proc = spawn(command, args, {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = prefixFor(name);
  pipeLines(proc.stdout, process.stdout, prefix);
  pipeLines(proc.stderr, process.stderr, prefix);
  const child: Child = { name, proc, running: true, stopping: false, exited: Promise.resolve() };
  child.exited = new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (!child.running) return;
      child.running = false;
      if (!child.stopping && !shuttingDown) {
        say(`${name} exited (${error?.message ?? (signal ? `signal ${signal}` : `code ${code}`)})`);
        onUnexpectedExit();
      }
      resolve();
    };
    proc.once('exit', (code, signal) => done(code, signal));
    proc.once('error', (error) => done(null, null, error));
  });
  children.push(child);
  return child;
}

async function stop(child: Child, timeoutMs: number): Promise<void> {
  if (!child.running) return;
  child.stopping = true;
  child.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  if ((await Promise.race([child.exited, late])) === 'late') {
    say(`${child.name} did not stop within ${timeoutMs} ms: killing it`);
    child.proc.kill('SIGKILL');
    await child.exited;
  }
  clearTimeout(timer);
}

// ---- checks --------------------------------------------------------------------------------------

function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv}: no such file`);
    return fromEnv;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  throw new Error(
    'nats-server not found on PATH (nor in /usr/sbin, /usr/local/sbin). Install it ' +
      '(Debian/Ubuntu: `apt-get install nats-server`) or set NATS_SERVER_BIN to the binary.',
  );
}

/** Resolves if `port` can be bound on all interfaces, as the replicas bind theirs. */
function assertPortFree(port: number, owner: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} (${owner}) is already in use: stop what holds it or pick another port`
            : `cannot use port ${port} (${owner}): ${error.message}`,
        ),
      );
    });
    server.listen(port, () => server.close(() => resolve()));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

async function waitFor(what: string, child: Child, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (!child.running) throw new Error(`${child.name} exited before ${what} was ready`);
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready within ${READY_TIMEOUT_MS / 1000} s (${url}: ${status})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---- the cluster ---------------------------------------------------------------------------------

let shuttingDown = false;
let storeDir: string | undefined;
let replicasStarted = 0;

function onUnexpectedExit(): void {
  const replicasLeft = children.filter((c) => c.name.startsWith('replica-') && c.running);
  if (replicasStarted > 0 && replicasLeft.length === 0) {
    say('no replica is left running: stopping');
    void shutdown(1);
  }
}

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  const replicas = children.filter((c) => c.name.startsWith('replica-'));
  const nats = children.filter((c) => c.name.startsWith('nats'));
  const drainMs = Number(process.env.DRAIN_WINDOW_MS ?? 10_000) || 10_000;
  if (replicas.some((c) => c.running)) {
    say('stopping the replicas (SIGTERM: they drain their clients first)…');
  }
  // Replicas first, while NATS still runs, so their drain can flush; then NATS.
  await Promise.all(replicas.map((c) => stop(c, drainMs + 15_000)));
  await Promise.all(nats.map((c) => stop(c, NATS_STOP_TIMEOUT_MS)));
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
  if (children.length > 0) say('stopped');
  process.exit(code);
}

async function startNats(options: Options): Promise<string[]> {
  const bin = natsServerBinary();
  storeDir = await mkdtemp(join(tmpdir(), 'rt-cluster-'));
  const clientPorts: number[] = [];
  for (let i = 0; i < options.natsNodes; i++) {
    const port = options.natsPort === undefined ? await freePort() : options.natsPort + i;
    if (options.natsPort !== undefined) await assertPortFree(port, `nats-${i + 1}`);
    clientPorts.push(port);
  }
  const monitorPorts = await Promise.all(clientPorts.map(() => freePort()));
  const routePorts = await Promise.all(clientPorts.map(() => freePort()));
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(',');

  const nodes = clientPorts.map((port, i) => {
    const name = options.natsNodes === 1 ? 'nats' : `nats-${i + 1}`;
    const common = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPorts[i])];
    const store = ['-sd', join(storeDir!, name)];
    // One node: plain JetStream. Three: the compose file's deploy/nats/nats.conf, on loopback.
    const args =
      options.natsNodes === 1
        ? [...common, '-js', ...store, '-n', name]
        : [
            '-c',
            NATS_CONF,
            ...common,
            ...store,
            '--name',
            name,
            '--cluster',
            `nats://127.0.0.1:${routePorts[i]}`,
            '--routes',
            routes,
          ];
    return start(name, bin, args, process.env);
  });
  // /healthz answers 200 once JetStream is up (in a cluster: once it has a meta leader).
  await Promise.all(
    nodes.map((node, i) => waitFor(node.name, node, `http://127.0.0.1:${monitorPorts[i]}/healthz`)),
  );
  return clientPorts.map((p) => `nats://127.0.0.1:${p}`);
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message ? `${error.message}\n\n${USAGE}` : USAGE);
    process.exit(error.message ? 2 : 0);
  }
  if (!existsSync(ENTRY)) {
    throw new Error(`${ENTRY} not found: run \`npm run build\` first (the cluster runs the build)`);
  }
  const ports = Array.from({ length: options.replicas }, (_, i) => options.port + i);
  for (const [i, port] of ports.entries()) await assertPortFree(port, `replica-${i + 1}`);

  process.on('SIGINT', () => {
    if (shuttingDown) {
      say('second Ctrl-C: killing everything');
      for (const c of children) if (c.running) c.proc.kill('SIGKILL');
      process.exit(130);
    }
    void shutdown(0);
  });
  process.on('SIGTERM', () => void shutdown(0));
  // Detached children do not get our signals: never leave them behind.
  process.on('exit', () => {
    for (const c of children) if (c.running) c.proc.kill('SIGKILL');
  });

  const natsUrls = await startNats(options);
  say(`NATS ready: ${natsUrls.join(',')}`);

  const replicas = ports.map((port, i) =>
    start(`replica-${i + 1}`, process.execPath, [ENTRY], {
      ...process.env,
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      HISTORY_REPLICAS: process.env.HISTORY_REPLICAS ?? String(options.natsNodes),
      PORT: String(port),
      REPLICA_ID: `replica-${i + 1}`,
      NATS_URL: natsUrls.join(','),
    }),
  );
  replicasStarted = replicas.length;
  await Promise.all(
    replicas.map((r, i) => waitFor(r.name, r, `http://127.0.0.1:${ports[i]}/health/ready`)),
  );

  const first = ports[0]!;
  const second = ports[1] ?? first;
  const lines = [
    '',
    `${options.replicas} replica(s) ready, relaying through ${options.natsNodes} NATS node(s):`,
    ...replicas.map(
      (r, i) =>
        `  ${r.name.padEnd(11)} http://127.0.0.1:${ports[i]}  ws://127.0.0.1:${ports[i]}/ws  (pid ${r.proc.pid})`,
    ),
    `  NATS        ${natsUrls.join(',')}`,
    '',
    'Chat across replicas: in two terminals (same environment, so the token matches the key):',
    `  node -e "${CLIENT}" ws://127.0.0.1:${first}/ws "$(npm run -s token -- alice)"`,
    `  node -e "${CLIENT}" ws://127.0.0.1:${second}/ws "$(npm run -s token -- bob)"`,
    'then type lines: each goes to room "lobby" and shows up on both.',
    '',
    'A notification to everyone subscribed to public.news:',
    `  curl -s -X POST http://127.0.0.1:${first}/notifications -H 'content-type: application/json' \\`,
    `    -H "authorization: Bearer $(npm run -s token -- svc --scope notifications:publish)" \\`,
    `    -d '{"stream":"public.news","payload":{"hello":"world"}}'`,
    '',
    'Failover: `kill <pid>` drains a replica (its clients get reconnect + 1012). Ctrl-C stops all.',
    '',
  ];
  for (const line of lines) say(line);
}

/** A one-line client for the banner: joins "lobby", prints every frame, then sends stdin lines. */
const CLIENT = [
  "const ws=new (require('ws'))(process.argv[1],{headers:{authorization:'Bearer '+process.argv[2]}});",
  'const send=(event,data)=>ws.send(JSON.stringify({event,data}));',
  "ws.on('open',()=>send('chat.join',{room:'lobby',ref:'join'}));",
  "ws.on('message',m=>{console.log(String(m));const f=JSON.parse(m);",
  "if(f.event==='reply'&&f.data.ref==='join')",
  "process.stdin.on('data',d=>send('chat.send',{room:'lobby',body:String(d).trim()}))});",
  "ws.on('close',(c,r)=>{console.log('closed',c,String(r));process.exit()});",
].join('');

main().catch(async (error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
});
