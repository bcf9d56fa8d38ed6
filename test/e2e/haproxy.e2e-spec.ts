import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { WebSocket } from 'ws';
import { freePort, startNatsServer, WsTestClient, type NatsServerHandle } from '@app/testing';
import { ChildReplica } from '../support/child-replica';
import { tokenFor } from '../support/tokens';

/**
 * The load-balancing policy of traefik/ on a load balancer that runs here: HAProxy from
 * deploy/haproxy/haproxy.cfg.template in front of two replicas of the build, sharing history
 * through one nats-server. Nothing is skipped: without haproxy the suite fails and says so.
 */

const ROOT = join(__dirname, '..', '..');
const TEMPLATE = join(ROOT, 'deploy', 'haproxy', 'haproxy.cfg.template');
const COOKIE = 'rt_replica';
const CHECK_INTER_MS = 500;
/** Long enough that a replica with two clients is still draining while we look at it. */
const DRAIN_WINDOW_MS = 6000;
const POLL_MS = 50;

interface ChatMessage {
  room: string;
  seq: number;
  body: unknown;
}

interface Welcome {
  replica: string;
}

function haproxyBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  const candidates = [process.env.HAPROXY_BIN, ...dirs.map((dir) => dir && join(dir, 'haproxy'))];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (found === undefined) {
    throw new Error(
      'haproxy is not installed. This suite runs a real HAProxy in front of two replicas and ' +
        'skips nothing: .ci/run installs it (apt-get install -y haproxy). Locally: ' +
        '`apt-get install -y haproxy`, or set HAPROXY_BIN to the binary.',
    );
  }
  return found;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fills the template's {{PLACEHOLDERS}}; a placeholder left over is an error, not a silent gap. */
function renderConfig(values: Record<string, string>): string {
  let text = readFileSync(TEMPLATE, 'utf8');
  for (const [name, value] of Object.entries(values)) text = text.split(`{{${name}}}`).join(value);
  const left = /\{\{[A-Z_]+\}\}/.exec(text);
  if (left) throw new Error(`${TEMPLATE}: placeholder ${left[0]} was not filled in`);
  return text;
}

/** A running HAProxy owned by this suite. */
class Haproxy {
  private tail = '';
  private readonly exited: Promise<void>;
  private hasExited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly statsPort: number,
    private readonly dir: string,
  ) {
    const append = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.hasExited = true;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        this.tail += `\n${err.message}`;
        done();
      });
    });
  }

  static async start(servers: readonly ChildReplica[]): Promise<Haproxy> {
    const bin = haproxyBinary();
    const dir = await mkdtemp(join(tmpdir(), 'haproxy-'));
    try {
      for (let attempt = 1; ; attempt++) {
        const [port, statsPort] = [await freePort(), await freePort()];
        const cfg = join(dir, 'haproxy.cfg');
        writeFileSync(
          cfg,
          renderConfig({
            BIND: `127.0.0.1:${port}`,
            STATS_BIND: `127.0.0.1:${statsPort}`,
            COOKIE_NAME: COOKIE,
            COOKIE_FLAGS: '',
            CHECK_INTER: `${CHECK_INTER_MS}ms`,
            CHECK_FALL: '1',
            CHECK_RISE: '1',
            SERVERS: servers
              .map((s) => `    server ${s.id} 127.0.0.1:${s.port} cookie ${s.id}`)
              .join('\n'),
          }),
        );
        const check = spawnSync(bin, ['-c', '-f', cfg], { encoding: 'utf8' });
        if (check.status !== 0) {
          throw new Error(`haproxy -c rejected the config:\n${check.stdout}${check.stderr}`);
        }
        const lb = new Haproxy(
          spawn(bin, ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] }),
          port,
          statsPort,
          dir,
        );
        try {
          await lb.waitForStats();
          return lb;
        } catch (error) {
          await lb.stop(false);
          // freePort() can race with another process taking the port; fresh ports fix that.
          if (attempt >= 3 || !lb.output.includes('cannot bind')) throw error;
        }
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get output(): string {
    return this.tail;
  }

  /** Server name → HAProxy status (`UP`, `DOWN`, `UP 1/2`, …) in the `replicas` backend. */
  async statuses(): Promise<Map<string, string>> {
    const text = await (await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`)).text();
    const [header = '', ...rows] = text.trim().split('\n');
    const columns = header.replace(/^# /, '').split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c));
    const result = new Map<string, string>();
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[px!] === 'replicas' && cells[sv!] !== 'BACKEND') {
        result.set(cells[sv!] ?? '', cells[st!] ?? '');
      }
    }
    return result;
  }

  /** Polls the stats page until `server` has `status`; resolves with the time it took. */
  async waitForStatus(server: string, status: 'UP' | 'DOWN', timeoutMs = 10_000): Promise<number> {
    const started = Date.now();
    let seen = new Map<string, string>();
    while (Date.now() - started < timeoutMs) {
      seen = await this.statuses();
      if (seen.get(server) === status) return Date.now() - started;
      await delay(POLL_MS);
    }
    throw new Error(
      `haproxy: ${server} not ${status} within ${timeoutMs} ms; servers: ${JSON.stringify([...seen])}\n${this.output}`,
    );
  }

  async stop(removeDir = true): Promise<void> {
    if (!this.hasExited) this.child.kill('SIGTERM');
    await this.exited;
    if (removeDir) await rm(this.dir, { recursive: true, force: true });
  }

  private async waitForStats(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.hasExited) throw new Error(`haproxy exited at start-up:\n${this.output}`);
      const ok = await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`haproxy not up within 10 s:\n${this.output}`);
      await delay(POLL_MS);
    }
  }
}

/**
 * Opens a WebSocket through the load balancer, takes the `Set-Cookie` of the 101 and the
 * `welcome` frame, and closes it: where a new client lands, and the cookie it is given.
 */
function land(url: string, cookie?: string): Promise<{ replica: string; cookie?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: cookie ? { cookie } : {} });
    let setCookie: string | undefined;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no welcome through ${url} within 5 s`));
    }, 5000);
    socket.once('upgrade', (response) => {
      setCookie = response.headers['set-cookie']?.find((c) => c.startsWith(`${COOKIE}=`));
    });
    socket.once('message', (raw) => {
      clearTimeout(timer);
      const frame = JSON.parse((raw as Buffer).toString()) as { event: string; data: Welcome };
      socket.close();
      if (frame.event !== 'welcome') reject(new Error(`expected welcome, got ${frame.event}`));
      else resolve({ replica: frame.data.replica, ...(setCookie && { cookie: setCookie }) });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const stickTo = (replica: string): string => `${COOKIE}=${replica}`;

/** GET `url` from a given loopback source address; resolves with the status code. */
function statusFrom(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(url, { localAddress, timeout: 5000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${url}: no answer in 5 s`)));
    request.once('error', reject);
  });
}

describe('HAProxy in front of two replicas of the build (deploy/haproxy)', () => {
  let nats: NatsServerHandle;
  let a: ChildReplica;
  let b: ChildReplica;
  let lb: Haproxy;
  const clients: WsTestClient[] = [];

  /** A client through the load balancer; resolves with it and the replica its welcome names. */
  const connect = async (
    options: { user?: string; cookie?: string } = {},
  ): Promise<{ client: WsTestClient; replica: string }> => {
    const client = await WsTestClient.connect(lb.wsUrl, {
      ...(options.user && { token: tokenFor(options.user) }),
      headers: options.cookie ? { cookie: options.cookie } : {},
    });
    clients.push(client);
    const welcome = await client.nextEvent<Welcome>('welcome');
    return { client, replica: welcome.data.replica };
  };

  const connectionsOn = async (replica: ChildReplica): Promise<number> => {
    const body = (await (await fetch(`${replica.url}/health/ready`)).json()) as {
      connections: number;
    };
    return body.connections;
  };

  beforeAll(async () => {
    haproxyBinary(); // fail first, and clearly, when it is missing
    nats = await startNatsServer();
    const env = { DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS) };
    [a, b] = await Promise.all([
      ChildReplica.start({ id: 'hap-a', natsUrl: nats.url, env }),
      ChildReplica.start({ id: 'hap-b', natsUrl: nats.url, env }),
    ]);
    lb = await Haproxy.start([a, b]);
    await Promise.all([lb.waitForStatus(a.id, 'UP'), lb.waitForStatus(b.id, 'UP')]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await lb?.stop();
    await Promise.all([a?.close(), b?.close()]);
    await nats?.stop();
  });

  it('gives a new client a cookie naming its replica, and a client that sends it always lands there', async () => {
    const first = await land(lb.wsUrl);
    expect(first.cookie).toBeDefined();
    expect(first.cookie).toMatch(new RegExp(`^${COOKIE}=${first.replica};`));
    expect(first.cookie).toMatch(/HttpOnly/i);
    expect(first.cookie).toMatch(/SameSite=Lax/i);

    // Without the cookie, new sockets spread over both replicas (leastconn) …
    const spread = [];
    for (let i = 0; i < 4; i++) spread.push((await connect()).replica);
    expect(new Set(spread)).toEqual(new Set([a.id, b.id]));

    // … with it, every one goes to the same replica, and no new cookie is set (`indirect`).
    for (let i = 0; i < 6; i++) {
      const again = await land(lb.wsUrl, stickTo(first.replica));
      expect(again).toEqual({ replica: first.replica });
      const { replica } = await connect({ user: 'sticky', cookie: stickTo(first.replica) });
      expect(replica).toBe(first.replica);
    }

    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('takes a draining replica out within the check interval; its clients resume on the other', async () => {
    const room = 'haproxy-failover';
    // alice and an idle anonymous client on a, bob on b, each pinned by its cookie.
    const alice = await connect({ user: 'alice', cookie: stickTo(a.id) });
    const idle = await connect({ cookie: stickTo(a.id) });
    const bob = await connect({ user: 'bob', cookie: stickTo(b.id) });
    expect([alice.replica, idle.replica, bob.replica]).toEqual([a.id, a.id, b.id]);

    const joined = await alice.client.call<{ epoch: string }>('chat.join', { room });
    await bob.client.call('chat.join', { room });
    const before = await alice.client.call<{ seq: number }>('chat.send', { room, body: 'before' });
    await bob.client.next((f) => f.event === 'chat.message' && f.data.body === 'before');
    await alice.client.nextEvent('chat.message');

    // Exactly alice and the idle client on a, so the drain closes alice first and the idle client
    // DRAIN_WINDOW_MS / 2 later: a is still running, draining, while we look at it.
    for (let i = 0; (await connectionsOn(a)) !== 2; i++) {
      if (i > 100) throw new Error(`hap-a still has ${await connectionsOn(a)} connections`);
      await delay(POLL_MS);
    }

    const exit = a.waitForExit();
    const sigterm = Date.now();
    a.signal('SIGTERM');

    const reconnect = await alice.client.nextEvent<{ reason: string }>('reconnect');
    expect(reconnect.data.reason).toBe('draining');
    expect((await alice.client.closed).code).toBe(1012);

    await lb.waitForStatus(a.id, 'DOWN');
    const outAfterMs = Date.now() - sigterm;
    expect(outAfterMs).toBeLessThan(4 * CHECK_INTER_MS);
    expect(a.running).toBe(true); // still draining: taken out by its readiness, not by dying
    expect((await fetch(`${a.url}/health/ready`)).status).toBe(503);

    // Messages sent while alice is away.
    const during = [];
    for (const body of ['during-1', 'during-2']) {
      during.push(await bob.client.call<{ seq: number }>('chat.send', { room, body }));
    }

    // A new client that still carries a's cookie lands on b and is re-pointed there.
    expect(await land(lb.wsUrl, stickTo(a.id))).toEqual({
      replica: b.id,
      cookie: expect.stringMatching(new RegExp(`^${COOKIE}=${b.id};`)),
    });

    // alice reconnects through the load balancer with her old cookie and resumes on b.
    const back = await connect({ user: 'alice', cookie: stickTo(a.id) });
    expect(back.replica).toBe(b.id);
    const resumed = await back.client.call<{ recovered: boolean; epoch: string }>('chat.join', {
      room,
      since: before.seq,
      epoch: joined.epoch,
    });
    expect(resumed).toMatchObject({ recovered: true, epoch: joined.epoch });
    const missed = await back.client.take<ChatMessage>('chat.message', 2);
    expect(missed.map((m) => m.body)).toEqual(['during-1', 'during-2']);
    expect(missed.map((m) => m.seq)).toEqual(during.map((d) => d.seq));

    // The idle client is closed later in the window, then the replica exits cleanly.
    await idle.client.nextEvent('reconnect', DRAIN_WINDOW_MS + 5000);
    expect((await idle.client.closed).code).toBe(1012);
    expect(await exit).toEqual({ code: 0, signal: null });
  });

  it('serves /metrics only to its own host: Prometheus scrapes the replicas directly', async () => {
    expect(await statusFrom(`${lb.url}/metrics`, '127.0.0.2')).toBe(403);
    expect(await statusFrom(`${lb.url}/health/live`, '127.0.0.2')).toBe(200);
    expect(await statusFrom(`${lb.url}/metrics`, '127.0.0.1')).toBe(200);
  });

  it('puts a restarted replica back in rotation, and new clients fill it up', async () => {
    await a.restart();
    await lb.waitForStatus(a.id, 'UP');
    expect(await land(lb.wsUrl, stickTo(a.id))).toEqual({ replica: a.id });
    // b holds the resumed clients, a none: leastconn sends a cookieless client to a.
    expect((await land(lb.wsUrl)).replica).toBe(a.id);
  });
});
