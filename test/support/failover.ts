import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { WebSocket } from 'ws';
import { connect as natsConnect, type StreamInfo } from 'nats';
import {
  ClientError,
  connect,
  type ChatMessage,
  type ClientOptions,
  type JoinResult,
  type RealtimeClient,
  type RecoveredEvent,
} from '@app/client';
import { waitFor as waitForState } from '@app/testing';
import { ChildReplica } from './child-replica';
import { tokenFor } from './tokens';

/**
 * Shared pieces of the failover suite (test/e2e/failover): replicas of the build, fleets of SDK
 * clients that record what they receive, a publisher that retries until acknowledged, the delivery
 * checks every scenario ends with, and process measurements. docs/reliability.md says what each
 * scenario proves.
 */

// ── progress and bounded waits ────────────────────────────────────────────────────────────────

/** One line per phase on stdout (the suite's `no-console` rule applies to tests too). */
export function progress(scope: string): (line: string) => void {
  const started = Date.now();
  return (line) =>
    process.stdout.write(
      `[failover:${scope} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`,
    );
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `waitFor` from `@app/testing` with the positional form these specs use. */
export function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  detail?: () => string,
  pollMs = 50,
): Promise<number> {
  return waitForState(what, probe, { timeoutMs, everyMs: pollMs, detail });
}

/**
 * Runs an idempotent `attempt` (a join) until it neither fails with `unavailable` (the broker's
 * trouble: retry later) nor goes unanswered (`timeout`: a slow replay while a NATS node is down),
 * for at most `timeoutMs`; `onRefused` counts the refusals.
 */
const RETRYABLE = new Set(['unavailable', 'timeout']);

export async function retryIdempotent<T>(
  attempt: () => Promise<T>,
  timeoutMs: number,
  onRefused: (error: ClientError) => void = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = error instanceof ClientError && RETRYABLE.has(error.code);
      if (!retryable) throw error;
      if (Date.now() > deadline) throw error;
      onRefused(error);
      await delay(200);
    }
  }
}

// ── replicas ──────────────────────────────────────────────────────────────────────────────────

/**
 * Environment every failover replica gets. The publisher sends faster than the default per-socket
 * rate limit (100 frames/s) allows, so the limit is raised; everything else keeps its default.
 */
export const REPLICA_ENV: Readonly<Record<string, string>> = {
  WS_RATE_PER_SECOND: '1000',
  WS_RATE_BURST: '2000',
};

/** Starts `ids.length` child replicas of the build in parallel (all or none). */
export async function startChildReplicas(
  ids: readonly string[],
  natsUrl: string,
  env: Record<string, string> = {},
): Promise<ChildReplica[]> {
  const results = await Promise.allSettled(
    ids.map((id) => ChildReplica.start({ id, natsUrl, env: { ...REPLICA_ENV, ...env } })),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((r) => r.close()));
    throw failed.reason;
  }
  return started;
}

/** `GET /health/ready`'s status, 0 when nothing answers. */
export function readiness(replica: ChildReplica): Promise<number> {
  return fetch(`${replica.url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 0,
  );
}

/**
 * Samples every replica's readiness until `stop()`, which returns, per replica id, when it was
 * first and last seen not ready (ms after the watch started), or nothing if it never was.
 */
export function watchReadiness(
  replicas: readonly ChildReplica[],
  intervalMs = 100,
): { stop(): Promise<Record<string, { firstMs: number; lastMs: number } | null>> } {
  const started = Date.now();
  const seen: Record<string, { firstMs: number; lastMs: number } | null> = {};
  for (const r of replicas) seen[r.id] = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now() - started;
      const statuses = await Promise.all(replicas.map((r) => readiness(r)));
      replicas.forEach((r, i) => {
        if (statuses[i] === 200) return;
        const entry = seen[r.id];
        if (entry) entry.lastMs = at;
        else seen[r.id] = { firstMs: at, lastMs: at };
      });
      await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** The ids of replicas whose readiness is not `status`. */
export async function notReady(replicas: readonly ChildReplica[], status = 200): Promise<string[]> {
  const statuses = await Promise.all(replicas.map((r) => readiness(r)));
  return replicas.filter((_, i) => statuses[i] !== status).map((r) => r.id);
}

// ── SDK clients ───────────────────────────────────────────────────────────────────────────────

/** An SDK client and everything it handed the application. */
export interface Member {
  readonly name: string;
  readonly user: string;
  readonly rooms: readonly string[];
  readonly client: RealtimeClient;
  /** `message` events, in the order the application got them. */
  readonly messages: ChatMessage[];
  /** `recovered: false` events (rooms and streams; the inbox's `unknown_position` is left out). */
  readonly notRecovered: RecoveredEvent[];
  /** `error` events, by code. */
  readonly errors: Map<string, number>;
  /** The replica of every `welcome`, in order. */
  readonly replicas: string[];
  /** When the client last reached `live` (ms since epoch). */
  liveAt: number;
  /** When the client last got a `welcome` (ms since epoch). */
  welcomedAt: number;
  /** When its last socket opened: the upgrade was answered (ms since epoch). */
  readonly openedAt: number;
  /** Every `disconnect`: when, the close code, and the back-off before the next attempt. */
  readonly disconnects: Array<{ at: number; code: number; retryInMs?: number }>;
  /** Ids received, for quick membership tests. */
  readonly ids: Set<string>;
}

export interface MemberOptions {
  name: string;
  user: string;
  rooms: readonly string[];
  urls: readonly string[];
  client?: Partial<ClientOptions>;
}

/** Opens an SDK client (`ws`'s WebSocket, every replica's URL) that records what it receives. */
export function openMember(options: MemberOptions): Member {
  const opened = { at: 0 };
  /** `ws`'s WebSocket, noting when the socket opened (upgrade done, before `welcome`). */
  class TimedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      this.once('open', () => (opened.at = Date.now()));
    }
  }
  const client = connect({
    urls: [...options.urls],
    token: tokenFor(options.user),
    WebSocket: TimedWebSocket,
    ...options.client,
  });
  const member: Member = {
    name: options.name,
    user: options.user,
    rooms: options.rooms,
    client,
    messages: [],
    notRecovered: [],
    errors: new Map(),
    replicas: [],
    liveAt: 0,
    welcomedAt: 0,
    get openedAt() {
      return opened.at;
    },
    disconnects: [],
    ids: new Set(),
  };
  client.on('message', (m) => {
    member.messages.push(m);
    member.ids.add(m.id);
  });
  client.on('recovered', (e) => {
    // With `inbox: 'live'` (the default) and no direct message yet, every reconnect reports the
    // inbox as `unknown_position`: expected, and not about rooms.
    if (e.kind !== 'inbox') member.notRecovered.push(e);
  });
  client.on('error', (e) => member.errors.set(e.code, (member.errors.get(e.code) ?? 0) + 1));
  client.on('welcome', (w) => {
    member.replicas.push(w.replica);
    member.welcomedAt = Date.now();
  });
  client.on('disconnect', (d) =>
    member.disconnects.push({ at: Date.now(), code: d.code, retryInMs: d.retryInMs }),
  );
  client.on('state', ({ state }) => {
    if (state === 'live') member.liveAt = Date.now();
  });
  return member;
}

export interface FleetOptions {
  /** Names users `<prefix>-user-<i>` and `<prefix>-publisher`. */
  prefix: string;
  count: number;
  roomsOf: (i: number) => string[];
  urlsOf: (i: number) => string[];
  publisher: { rooms: string[]; urls: string[] };
}

/**
 * Opens `count` SDK clients and a publisher paced for load (about 500 sends/s), adds them all to
 * `members` (the publisher last, so `closeAll` closes it too) and returns the publisher.
 */
export function openFleet(members: Member[], options: FleetOptions): Member {
  for (let i = 0; i < options.count; i++) {
    members.push(
      openMember({
        name: `client-${i}`,
        user: `${options.prefix}-user-${i}`,
        rooms: options.roomsOf(i),
        urls: options.urlsOf(i),
      }),
    );
  }
  const sender = openMember({
    name: 'publisher',
    user: `${options.prefix}-publisher`,
    rooms: options.publisher.rooms,
    urls: options.publisher.urls,
    client: { rate: { perSecond: 500, burst: 1000 } },
  });
  members.push(sender);
  return sender;
}

/** The replica a member is connected to now (undefined while it is not). */
export function replicaOf(member: Member): string | undefined {
  return member.client.connection?.replica;
}

/** Members per replica they are connected to (`-` for those not connected). */
export function spread(members: readonly Member[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of members) {
    const where = replicaOf(m) ?? '-';
    counts[where] = (counts[where] ?? 0) + 1;
  }
  return counts;
}

/** Joins every member to its rooms, in batches, within a bound. */
export async function joinAll(
  members: readonly Member[],
  timeoutMs: number,
  batch = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < members.length; i += batch) {
    const slice = members.slice(i, i + batch);
    const joins = Promise.all(slice.flatMap((m) => m.rooms.map((room) => m.client.join(room))));
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out after ${timeoutMs} ms joining members ${i}..${i + slice.length - 1}; ` +
                `states: ${JSON.stringify(countBy(slice, (m) => m.client.state))}`,
            ),
          ),
        Math.max(left, 0),
      );
    });
    try {
      await Promise.race([joins, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Closes every member's client. */
export async function closeAll(members: readonly Member[]): Promise<void> {
  await Promise.all(members.map((m) => m.client.close()));
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/**
 * Member `i`'s URL list: a rotation of `urls` so first connections spread over the replicas, in
 * one cyclic order for even `i` and the reverse for odd `i`, so that the clients of a replica that
 * goes away move to different next ones.
 */
export function urlsFor(i: number, urls: readonly string[]): string[] {
  const order = i % 2 === 0 ? [...urls] : [...urls].reverse();
  const start = Math.floor(i / 2) % order.length;
  return [...order.slice(start), ...order.slice(0, start)];
}

// ── the publisher ─────────────────────────────────────────────────────────────────────────────

export interface PublisherOptions {
  /** Message `n` (from 1) goes to `rooms[(n - 1) % rooms.length]`. */
  rooms: readonly string[];
  count: number;
  /** Sends are paced to this rate (one at a time, each awaited). */
  ratePerSecond: number;
  /** Sends `key` with each message (chat.send's idempotency key): a retry is stored once. */
  idempotent: boolean;
  /** Names this publisher's messages: bodies are `{p: tag, n}`, keys `${tag}-${n}`. */
  tag: string;
  /** One message is given up (and the publisher fails) after this long. Default 30 s. */
  messageTimeoutMs?: number;
}

export interface Ack {
  n: number;
  room: string;
  id: string;
  seq: number;
  attempts: number;
  /** When the reply came (ms since epoch). */
  at: number;
}

/** Failure codes after which the message may have been stored all the same. */
const MAYBE_STORED = new Set(['connection_lost', 'timeout', 'unavailable', 'internal']);

/**
 * Sends `count` chat messages, each until acknowledged (`{id, seq}` came back): at-least-once from
 * the publisher's side. A send that fails is repeated (with the same key when `idempotent`) after
 * a short pause; failures are counted by code.
 */
export class Publisher {
  readonly acks = new Map<number, Ack>();
  readonly failures = new Map<string, number>();
  /** Counters `n` with at least one failed attempt that may have been stored anyway. */
  readonly uncertain = new Set<number>();
  /** Markers sent after the run, one per room (see `finish`). */
  readonly markers = new Map<string, Ack>();
  attempts = 0;
  /** The longest time between two acknowledgements (a stall seen by the sender). */
  maxGapMs = 0;
  private lastAckAt = 0;
  private running?: Promise<void>;
  private failed?: Error;
  private startedAt = 0;
  /** The last message this publisher sends: `count`, or fewer once stopped. */
  private last: number;

  constructor(
    readonly client: RealtimeClient,
    readonly options: PublisherOptions,
  ) {
    this.last = options.count;
  }

  get acked(): number {
    return this.acks.size;
  }

  /** How many messages this publisher sends in all. */
  get total(): number {
    return this.last;
  }

  /**
   * Sends no message after the one in flight: a test that must publish for as long as something
   * lasts (a roll) stops the publisher when it ends, instead of guessing a count that outlasts it.
   */
  stop(): void {
    this.last = Math.min(this.last, this.acked + 1);
  }

  /** Starts sending in the background; `done` settles when all are acknowledged (or one failed). */
  start(): void {
    this.startedAt = Date.now();
    this.lastAckAt = this.startedAt;
    this.running = this.run();
    // Observed by `done`; this keeps an early failure from being an unhandled rejection.
    this.running.catch(() => undefined);
  }

  get done(): Promise<void> {
    if (!this.running) throw new Error('publisher not started');
    return this.running;
  }

  /** Resolves once `n` messages are acknowledged (or rejects, naming it, past `timeoutMs`). */
  async waitForAcks(n: number, timeoutMs: number): Promise<void> {
    await waitFor(
      `${n} acknowledged messages from publisher ${this.options.tag}`,
      () => {
        if (this.failed) throw this.failed;
        return this.acked >= n;
      },
      timeoutMs,
      () =>
        `${this.acked} acknowledged; failures ${JSON.stringify(Object.fromEntries(this.failures))}`,
    );
  }

  /**
   * Sends one marker per room after every message was acknowledged: a member that has a room's
   * marker has everything stored before it (messages arrive in seq order).
   */
  async finish(timeoutMs: number): Promise<void> {
    for (const room of this.options.rooms) {
      const ack = await this.sendUntilAcked(
        room,
        { p: this.options.tag, end: true },
        `end-${room}`,
        0,
        Date.now() + timeoutMs,
      );
      this.markers.set(room, ack);
    }
  }

  /** The failures by code, and how many messages were repeated after an uncertain failure. */
  summary(): string {
    const failures = Object.fromEntries(this.failures);
    const elapsed = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    return (
      `${this.acked}/${this.total} acknowledged in ${this.attempts} attempts (${elapsed} s); ` +
      `failures ${JSON.stringify(failures)}; repeated after an uncertain failure: ${this.uncertain.size}; ` +
      `longest wait between acknowledgements ${this.maxGapMs} ms`
    );
  }

  private async run(): Promise<void> {
    const { count, ratePerSecond, rooms } = this.options;
    const interval = 1000 / ratePerSecond;
    try {
      for (let n = 1; n <= Math.min(count, this.last); n++) {
        const due = this.startedAt + (n - 1) * interval;
        if (due > Date.now()) await delay(due - Date.now());
        const room = rooms[(n - 1) % rooms.length] ?? '';
        const deadline = Date.now() + (this.options.messageTimeoutMs ?? 30_000);
        const ack = await this.sendUntilAcked(
          room,
          { p: this.options.tag, n },
          String(n),
          n,
          deadline,
        );
        this.acks.set(n, ack);
        const now = Date.now();
        this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAckAt);
        this.lastAckAt = now;
      }
    } catch (error) {
      this.failed = error as Error;
      throw error;
    }
  }

  private async sendUntilAcked(
    room: string,
    body: Record<string, unknown>,
    key: string,
    n: number,
    deadline: number,
  ): Promise<Ack> {
    let lastError: ClientError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (Date.now() > deadline) {
        throw new Error(
          `publisher ${this.options.tag}: message ${key} to ${room} not acknowledged in time; ` +
            `last error ${lastError?.code}: ${lastError?.message}; ${this.summary()}`,
        );
      }
      this.attempts++;
      try {
        const data = {
          room,
          body,
          ...(this.options.idempotent && { key: `${this.options.tag}-${key}` }),
        };
        const reply = await this.client.request('chat.send', data);
        if (typeof reply.id !== 'string' || typeof reply.seq !== 'number') {
          throw new Error(`chat.send replied ${JSON.stringify(reply)}`);
        }
        return { n, room, id: reply.id, seq: reply.seq, attempts: attempt, at: Date.now() };
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        if (error.code === 'closed') throw error;
        lastError = error;
        this.failures.set(error.code, (this.failures.get(error.code) ?? 0) + 1);
        if (MAYBE_STORED.has(error.code)) this.uncertain.add(n);
        // connection_lost: the request waits in the SDK's queue until the next connection is live.
        if (error.code !== 'connection_lost') await delay(100);
      }
    }
  }
}

/**
 * Whether the publisher sends chat.send's idempotency `key`: when the server takes it (refused as an
 * unknown field otherwise; one probe message, without the publisher's tag, goes to `room`), unless
 * `FAILOVER_KEY=off` asks for the plain at-least-once publisher (repeats may be stored twice).
 */
export async function chatSendTakesKey(client: RealtimeClient, room: string): Promise<boolean> {
  if (process.env.FAILOVER_KEY === 'off') return false;
  try {
    await client.request('chat.send', { room, body: { probe: true }, key: `probe-${Date.now()}` });
    return true;
  } catch (error) {
    if (error instanceof ClientError && error.code === 'bad_request') return false;
    throw error;
  }
}

// ── delivery checks ───────────────────────────────────────────────────────────────────────────

export interface DeliveryReport {
  /** Everything that breaks a guarantee, one line each; empty when all hold. */
  problems: string[];
  /** Messages per room that every member of it has (from the reference member). */
  perRoom: Record<string, number>;
  /** Bodies (counters) stored twice under different ids: a publisher retry without a key. */
  duplicateBodies: number;
  /** Messages a member got that no reply acknowledged (stored, but the reply was lost). */
  unacknowledged: number;
}

/**
 * Checks what each member handed its application against what the publisher got acknowledged,
 * per room:
 * - every acknowledged message (by id) is there exactly once, and so is the room's marker, last;
 * - seqs strictly increase (the order of the room's history);
 * - every counter 1..count of the room is there; repeated counters are allowed only without a key
 *   and only for messages the publisher repeated after an uncertain failure;
 * - every member of a room has the very same sequence of ids;
 * - no `recovered: false` for a room.
 */
export function checkDelivery(members: readonly Member[], publisher: Publisher): DeliveryReport {
  const problems: string[] = [];
  const perRoom: Record<string, number> = {};
  let duplicateBodies = 0;
  let unacknowledged = 0;
  const { rooms, idempotent, tag } = publisher.options;
  const count = publisher.total;
  for (const [roomIndex, room] of rooms.entries()) {
    const expected = [...publisher.acks.values()].filter((a) => a.room === room);
    const expectedCounters = new Set<number>();
    for (let n = roomIndex + 1; n <= count; n += rooms.length) expectedCounters.add(n);
    const marker = publisher.markers.get(room);
    let reference: { member: string; ids: string[] } | undefined;
    for (const member of members.filter((m) => m.rooms.includes(room))) {
      const say = (what: string): void => {
        if (problems.length < 50) problems.push(`${member.name} in ${room}: ${what}`);
      };
      const mine = member.messages.filter(
        (m) => m.room === room && (m.body as { p?: string }).p === tag,
      );
      const ids = mine.map((m) => m.id);
      const seen = new Set<string>();
      const repeated = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
      if (repeated.length > 0) say(`${repeated.length} ids delivered twice, e.g. ${repeated[0]}`);
      for (let i = 1; i < mine.length; i++) {
        if (mine[i]!.seq <= mine[i - 1]!.seq) {
          say(`out of order: seq ${mine[i]!.seq} after ${mine[i - 1]!.seq} (index ${i})`);
          break;
        }
      }
      const missing = expected.filter((a) => !seen.has(a.id));
      if (missing.length > 0) {
        say(
          `${missing.length} acknowledged messages missing, e.g. n=${missing[0]!.n} seq ${missing[0]!.seq}`,
        );
      }
      if (!marker || mine.at(-1)?.id !== marker.id) say('the end marker is not the last message');
      const counters = new Map<number, number>();
      for (const m of mine) {
        const n = (m.body as { n?: number }).n;
        if (typeof n === 'number') counters.set(n, (counters.get(n) ?? 0) + 1);
      }
      const absent = [...expectedCounters].filter((n) => !counters.has(n));
      if (absent.length > 0) say(`${absent.length} counters never arrived, e.g. ${absent[0]}`);
      const twice = [...counters].filter(([, c]) => c > 1).map(([n]) => n);
      const unexplained = twice.filter((n) => idempotent || !publisher.uncertain.has(n));
      if (unexplained.length > 0) {
        say(
          `${unexplained.length} counters stored more than once ${idempotent ? 'despite the key' : 'without a failed attempt'}, e.g. ${unexplained[0]}`,
        );
      }
      const ackedIds = new Set(expected.map((a) => a.id));
      if (marker) ackedIds.add(marker.id);
      const extra = ids.filter((id) => !ackedIds.has(id)).length;
      if (idempotent && extra > 0) say(`${extra} messages whose id no reply acknowledged`);
      if (member.notRecovered.length > 0) {
        say(`recovered: false ${JSON.stringify(member.notRecovered)}`);
      }
      if (!reference) {
        reference = { member: member.name, ids };
        perRoom[room] = ids.length;
        duplicateBodies += twice.length;
        unacknowledged += extra;
      } else if (
        ids.length !== reference.ids.length ||
        ids.some((id, i) => id !== reference!.ids[i])
      ) {
        say(
          `has ${ids.length} messages, ${reference.member} ${reference.ids.length}, or another order`,
        );
      }
    }
  }
  return { problems, perRoom, duplicateBodies, unacknowledged };
}

/** Resolves once every member has the marker of each of its rooms (the publisher's `finish`). */
export async function waitForMarkers(
  members: readonly Member[],
  publisher: Publisher,
  timeoutMs: number,
): Promise<number> {
  const markerIds = new Set([...publisher.markers.values()].map((a) => a.id));
  const lacking = (): Member[] =>
    members.filter((m) =>
      m.rooms.some((room) => {
        const marker = publisher.markers.get(room);
        return !marker || !m.ids.has(marker.id);
      }),
    );
  return waitFor(
    `every member to have the end marker of its rooms (${markerIds.size} markers)`,
    () => lacking().length === 0,
    timeoutMs,
    () => {
      const late = lacking();
      const first = late[0];
      return (
        `${late.length} lack one; e.g. ${first?.name} (state ${first?.client.state}, on ` +
        `${first && replicaOf(first)}, ${first?.messages.length} messages, errors ` +
        `${JSON.stringify(Object.fromEntries(first?.errors ?? []))})`
      );
    },
  );
}

// ── scenarios ─────────────────────────────────────────────────────────────────────────────────

/** The NATS a scenario runs on: one nats-server or a cluster. */
interface Nats {
  readonly url: string;
  stop(): Promise<void>;
}

/** What a spec's scenario runs on, filled in by `useRig`'s `beforeAll`. */
export class Rig<N extends Nats> {
  nats!: N;
  replicas: ChildReplica[] = [];
  /** Every SDK client opened on the rig, closed with it. */
  readonly members: Member[] = [];
}

/**
 * Starts NATS (with `startNats`) and the child replicas `ids` before the spec's tests, and closes
 * the members, the replicas and NATS after them, in that order.
 */
export function useRig<N extends Nats>(
  startNats: () => Promise<N>,
  ids: readonly string[],
  env: Record<string, string> = {},
): Rig<N> {
  const rig = new Rig<N>();
  beforeAll(async () => {
    rig.nats = await startNats();
    rig.replicas = await startChildReplicas(ids, rig.nats.url, env);
  });
  afterAll(async () => {
    await closeAll(rig.members);
    await Promise.all(rig.replicas.map((r) => r.close()));
    // Undefined when starting it failed.
    await rig.nats?.stop();
  });
  return rig;
}

export interface ScenarioOptions {
  /** Names the progress lines (`[failover:<scope> …]`) and the publisher's messages. */
  scope: string;
  /** Users are `<prefix>-user-<i>`, `<prefix>-publisher` and `<prefix>-late`. */
  prefix: string;
  clients: number;
  /** Client `i` joins `rooms[i % rooms.length]`; the publisher joins them all. */
  rooms: string[];
  /** Client `i`'s URLs; by default `urlsFor(i, <every replica>)`. */
  urlsOf?: (i: number) => string[];
  /** By default every replica's. */
  publisherUrls?: string[];
  joinTimeoutMs?: number;
}

/**
 * Opens the SDK clients and the publisher on the rig's replicas and joins them all; learns the
 * rooms' epoch and whether chat.send takes a key.
 */
export async function startScenario(
  rig: Rig<Nats>,
  options: ScenarioOptions,
): Promise<FailoverScenario> {
  const log = progress(options.scope);
  const urls = rig.replicas.map((r) => r.wsUrl);
  const { rooms } = options;
  const sender = openFleet(rig.members, {
    prefix: options.prefix,
    count: options.clients,
    roomsOf: (i) => [rooms[i % rooms.length]!],
    urlsOf: options.urlsOf ?? ((i) => urlsFor(i, urls)),
    publisher: { rooms, urls: options.publisherUrls ?? urls },
  });
  await joinAll(rig.members, options.joinTimeoutMs ?? 20_000);
  // Joined already: the SDK answers from what it has, without a request.
  const { epoch } = await sender.client.join(rooms[0]!);
  const idempotent = await chatSendTakesKey(sender.client, rooms[0]!);
  return new FailoverScenario(rig, options, log, sender, epoch, idempotent);
}

/** A running scenario: the steps every failover spec shares around its own fault. */
export class FailoverScenario {
  constructor(
    private readonly rig: Rig<Nats>,
    private readonly options: ScenarioOptions,
    readonly log: (line: string) => void,
    readonly sender: Member,
    /** The rooms' epoch when they were joined. */
    readonly epoch: string,
    /** Whether the publisher sends chat.send's idempotency key. */
    readonly idempotent: boolean,
  ) {}

  get members(): Member[] {
    return this.rig.members;
  }

  /** The opening line of a one-room scenario; `more` ends it. */
  logJoined(more = ''): void {
    const room = this.options.rooms[0];
    this.log(
      `${this.members.length} SDK clients joined ${room}: ${JSON.stringify(spread(this.members))}; key: ${this.idempotent}${more}`,
    );
  }

  /** Starts a publisher of `count` messages over the rooms, tagged with the scope. */
  publish(count: number, ratePerSecond: number): Publisher {
    const publisher = new Publisher(this.sender.client, {
      rooms: this.options.rooms,
      count,
      ratePerSecond,
      idempotent: this.idempotent,
      tag: this.options.scope,
    });
    publisher.start();
    return publisher;
  }

  /**
   * Waits for the publisher's last acknowledgement, sends the end markers and waits until every
   * member has them; resolves with how long that took after the markers were acknowledged.
   */
  async finishPublishing(publisher: Publisher, timeoutMs = 30_000): Promise<number> {
    await waitFor(
      'the publisher to finish',
      () => publisher.acked === publisher.total,
      timeoutMs,
      () => publisher.summary(),
    );
    await publisher.done;
    await publisher.finish(10_000);
    this.log(`publisher: ${publisher.summary()}`);
    const tookMs = await waitForMarkers(this.members, publisher, 20_000);
    // Anything out of place (a late repeat) would arrive right behind the marker.
    await delay(300);
    return tookMs;
  }

  /**
   * Opens one more member that joins the room from seq 0 of the opening epoch and gets the end
   * marker: the room's whole history read back. `join` may wrap the join (to retry it).
   */
  async readHistoryFromStart(
    publisher: Publisher,
    join: (attempt: () => Promise<JoinResult>) => Promise<JoinResult> = (attempt) => attempt(),
  ): Promise<void> {
    const room = this.options.rooms[0]!;
    const urls = this.rig.replicas.map((r) => r.wsUrl);
    const user = `${this.options.prefix}-late`;
    const late = openMember({ name: 'late-reader', user, rooms: [room], urls });
    this.members.push(late);
    const replay = await join(() => late.client.join(room, { seq: 0, epoch: this.epoch }));
    expect(replay).toMatchObject({ epoch: this.epoch, recovered: true });
    await waitForMarkers([late], publisher, 10_000);
  }

  /** Checks every member's delivery and logs it; `who` tells more about the members. */
  check(publisher: Publisher, who = ''): DeliveryReport {
    const report = checkDelivery(this.members, publisher);
    this.log(
      `checked ${this.members.length} clients${who}: ${eachHas(report, publisher)}; ` +
        `repeated bodies ${report.duplicateBodies}, unacknowledged ${report.unacknowledged}`,
    );
    return report;
  }

  /** How often each replica filled a live gap from history, counted in its output. */
  logGapFills(): void {
    const gapFills = this.rig.replicas.map(
      (r) => `${r.id} ${r.output.split('live gap filled from history').length - 1}`,
    );
    this.log(`live gaps filled from history (Nats-Last-Sequence): ${gapFills.join(', ')}`);
  }
}

/** One room: the count every member has; several: the share of each room, as sent. */
function eachHas(report: DeliveryReport, publisher: Publisher): string {
  const { rooms } = publisher.options;
  const count = publisher.total;
  return rooms.length === 1
    ? `${report.perRoom[rooms[0]!]} messages each`
    : `${count / rooms.length} messages per room and its marker each`;
}

/**
 * What every scenario ends with: no problem found, and every member of a room holds the room's
 * share of the messages (the specs send a whole number per room) and its marker; without a key,
 * also the bodies stored twice.
 */
export function expectDelivered(report: DeliveryReport, publisher: Publisher): void {
  expect(report.problems).toEqual([]);
  const { rooms, idempotent } = publisher.options;
  const count = publisher.total;
  if (idempotent) {
    for (const room of rooms) expect(report.perRoom[room]).toBe(count / rooms.length + 1);
  } else {
    const held = Object.values(report.perRoom).reduce((sum, n) => sum + n, 0);
    expect(held).toBe(count + rooms.length + report.duplicateBodies);
  }
}

// ── measurements ──────────────────────────────────────────────────────────────────────────────

/** `VmRSS` and `VmHWM` (peak RSS) of a process, in MiB; undefined once it has exited. */
export function memoryOf(pid: number | undefined): { rssMb: number; peakMb: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in seconds; undefined once it has exited. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at state: utime and stime are 12, 13.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU time so far, in seconds (all cores, from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

/** The pid of the nats-server listening on `port` (found in /proc), if any. */
export function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('nats-server') && args[args.indexOf('-p') + 1] === String(port)) {
        return Number(entry);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * Measures, from now until `stop()`, the CPU time used by each process of `pids` (by name), by this
 * process, and how busy the whole machine was.
 */
export function cpuMeter(pids: Record<string, number | undefined>): { stop(): string } {
  const before = Object.entries(pids).map(
    ([name, pid]) => [name, pid, cpuSecondsOf(pid) ?? 0] as const,
  );
  const own = process.cpuUsage();
  const machine = machineCpu();
  return {
    stop() {
      const used = before.map(
        ([name, pid, start]) => `${name} ${((cpuSecondsOf(pid) ?? start) - start).toFixed(1)} s`,
      );
      const mine = process.cpuUsage(own);
      const now = machineCpu();
      const busy = (now.busy - machine.busy) / (now.total - machine.total);
      return (
        `CPU used: ${used.join(', ')}, this process ${((mine.user + mine.system) / 1e6).toFixed(1)} s; ` +
        `machine busy ${(busy * 100).toFixed(0)}%`
      );
    },
  };
}

/**
 * Where the resume time of `members` went after a failure at `since`: the SDK's back-off until its
 * last attempt, the socket's upgrade, the `welcome`, and the re-join until `live`.
 */
export function resumeBreakdown(members: readonly Member[], since: number): string {
  const lastAttempt = (m: Member): number => {
    const d = m.disconnects.filter((x) => x.at < m.welcomedAt).at(-1);
    return d ? d.at + (d.retryInMs ?? 0) : since;
  };
  const spreadOf = (values: number[]): string =>
    `p50 ${percentile(values, 50)}, p95 ${percentile(values, 95)}, max ${percentile(values, 100)} ms`;
  const disconnects = countBy(members, (m) =>
    String(m.disconnects.filter((x) => x.at >= since).length),
  );
  return (
    `live again ${spreadOf(members.map((m) => m.liveAt - since))} after the failure; ` +
    `back-off until the last attempt ${spreadOf(members.map((m) => lastAttempt(m) - since))}; ` +
    `attempt → open ${spreadOf(members.map((m) => m.openedAt - lastAttempt(m)))}; ` +
    `open → welcome ${spreadOf(members.map((m) => m.welcomedAt - m.openedAt))}; ` +
    `welcome → live (re-join) ${spreadOf(members.map((m) => m.liveAt - m.welcomedAt))}; ` +
    `disconnects per client ${JSON.stringify(disconnects)}`
  );
}

/** `getconf CLK_TCK`: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** This process's soft limit on open files (`ulimit -n`); child replicas inherit it. */
export function openFilesLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = /Max open files\s+(\d+|unlimited)/.exec(limits)?.[1];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

/** Nearest-rank percentile of `values` (unsorted). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The remote TCP ports of the established connections of process `pid` (from /proc): which
 * nats-server node a replica is connected to.
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

/**
 * Makes the node named `target` lead stream `stream`: asks the current leader to step down until
 * the election lands there. nats-server 2.9 hands leadership to a peer that is current, so each
 * step-down waits for `target` to be current first (on a loaded machine a follower may lag).
 * Resolves with the number of step-downs it took.
 */
export async function moveStreamLeader(
  natsUrl: string,
  stream: string,
  target: string,
  attempts = 12,
): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const leader = await waitForLeader(natsUrl, stream, 10_000);
    if (leader === target) return i;
    await waitFor(
      `node ${target} to be a current replica of stream ${stream}`,
      async () => (await streamPeers(natsUrl, stream).catch(() => new Map())).get(target) === true,
      10_000,
      undefined,
      100,
    );
    const nc = await natsConnect({ servers: natsUrl.split(',') });
    try {
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 5000 });
    } finally {
      await nc.close();
    }
    await waitFor(
      `stream ${stream} to leave leader ${leader}`,
      async () => ((await streamLeader(natsUrl, stream).catch(() => leader)) ?? leader) !== leader,
      10_000,
      undefined,
      100,
    );
  }
  throw new Error(
    `stream ${stream}: could not move its leader to ${target} in ${attempts} step-downs`,
  );
}

/** Resolves with the stream's leader once it has one. */
export async function waitForLeader(
  natsUrl: string,
  stream: string,
  timeoutMs: number,
): Promise<string> {
  let leader: string | undefined;
  await waitFor(
    `stream ${stream} to have a leader`,
    async () => {
      leader = await streamLeader(natsUrl, stream).catch(() => undefined);
      return leader !== undefined;
    },
    timeoutMs,
    undefined,
    100,
  );
  return leader!;
}

/** The followers of stream `stream` by server name, each with whether it is current. */
async function streamPeers(natsUrl: string, stream: string): Promise<Map<string, boolean>> {
  const info = await streamInfo(natsUrl, stream);
  return new Map((info.cluster?.replicas ?? []).map((r) => [r.name, r.current]));
}

/** The server name (`--server_name`) of the leader of JetStream stream `stream`. */
export async function streamLeader(natsUrl: string, stream: string): Promise<string | undefined> {
  return (await streamInfo(natsUrl, stream)).cluster?.leader;
}

async function streamInfo(natsUrl: string, stream: string): Promise<StreamInfo> {
  const nc = await natsConnect({ servers: natsUrl.split(',') });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 1000 });
    return await jsm.streams.info(stream);
  } finally {
    await nc.close();
  }
}
