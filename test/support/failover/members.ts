import { WebSocket } from 'ws';
import {
  connect,
  type ChatMessage,
  type ClientOptions,
  type RealtimeClient,
  type RecoveredEvent,
} from '@app/client';
import { tokenFor } from '../tokens';

// SDK clients that record what they receive, in fleets spread over the replicas.

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
