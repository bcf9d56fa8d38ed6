import type { RequestReplies, ServerEvents } from '@app/protocol';
import type { ClientError } from './errors';

/** The server's frames and replies, as the protocol defines them (`@app/protocol`). */
export type {
  Body,
  ChatMessage,
  DirectMessage,
  Notification,
  Published,
  RequestReplies,
  ServerEvents,
  Welcome,
} from '@app/protocol';

/** `presence.join` / `presence.leave` in a joined room. */
export type PresenceChange = ServerEvents['presence.join'] & { type: 'join' | 'leave' };

/** What `history` asks for: `before` a seq (omitted: the newest), `limit` 1-100 (default 50). */
export interface HistoryRequest {
  room: string;
  before?: number;
  limit?: number;
}

/** What `history` resolves with: the messages oldest first; `hasMore` when older ones remain. */
export type HistoryPage = RequestReplies['chat.history'];

/**
 * The server took the connection out of a room (`chat.removed`): `permission_revoked` when a
 * refreshed token no longer covers it. The room is not re-joined.
 */
export interface RemovedEvent {
  room: string;
  reason: string;
}

/** What `join` resolves with. */
export type JoinResult = RequestReplies['chat.join'];

/** What `subscribe` resolves with: `seqs` holds the last seq of each stream this client has. */
export type SubscribeResult = Pick<
  RequestReplies['notifications.subscribe'],
  'streams' | 'epoch' | 'recovered' | 'seqs'
>;

export type LeaveResult = RequestReplies['chat.leave'];

export type UnsubscribeResult = RequestReplies['notifications.unsubscribe'];

/** `presence.query {room}`. */
export type RoomPresence = Extract<RequestReplies['presence.query'], { room: string }>;

/** `presence.query {users}`. */
export type UsersPresence = Extract<RequestReplies['presence.query'], { online: unknown }>;

/** Where a room, stream or the inbox resumes from. Persist it to resume across page loads. */
export interface Position {
  seq: number;
  epoch?: string;
}

export interface Positions {
  rooms: Record<string, Position>;
  streams: Record<string, Position>;
  /** Undefined until the inbox's position is known (see the `inbox` option). */
  inbox?: Position;
}

/**
 * - `connecting`: opening a socket (the first one or again), until `welcome`.
 * - `resuming`: connected again, re-joining rooms, streams and the inbox; requests wait.
 * - `live`: everything re-joined; queued requests are being sent.
 * - `disconnected`: the socket closed; the next attempt is scheduled (see the `disconnect` event).
 * - `closed`: `close()` was called, or the server refused the token and there is no `getToken`.
 */
export type ClientState = 'connecting' | 'resuming' | 'live' | 'disconnected' | 'closed';

export type ChannelRef =
  { kind: 'room'; room: string } | { kind: 'stream'; stream: string } | { kind: 'inbox' };

/**
 * A room, stream or the inbox whose messages since the client's position could not all be
 * delivered: `epoch_changed` (the server's history was reset), `history_gap` (history no longer
 * reaches back that far).
 */
export type RecoveredEvent = ChannelRef & {
  recovered: false;
  reason: 'epoch_changed' | 'history_gap';
};

export interface DisconnectEvent {
  code: number;
  reason: string;
  /** The URL that closed. */
  url: string;
  /** When the next attempt starts; undefined when the client gives up (state `closed`). */
  retryInMs?: number;
}

export interface StateEvent {
  state: ClientState;
  previous: ClientState;
}

/** A frame of an event the SDK does not handle itself (for modules it does not know). */
export interface UnknownFrame {
  event: string;
  data: Record<string, unknown>;
}

/** Every event of `client.on(...)`: the server's frames are typed by the protocol's map. */
export interface ClientEvents {
  state: StateEvent;
  welcome: ServerEvents['welcome'];
  message: ServerEvents['chat.message'];
  direct: ServerEvents['chat.direct'];
  notification: ServerEvents['notification'];
  presence: PresenceChange;
  removed: RemovedEvent;
  recovered: RecoveredEvent;
  disconnect: DisconnectEvent;
  /** The token was refreshed on the open connection (`auth.refresh`). */
  token: { expiresAt: number | null };
  error: ClientError;
  frame: UnknownFrame;
}

/**
 * The part of the WebSocket API the client uses: the browser's `WebSocket` and the `ws` package
 * both fit. Handlers are typed loosely because the two disagree on event types; the client reads
 * events defensively.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface BackoffOptions {
  /** The first retry waits up to this long. Default 500 ms. */
  baseMs?: number;
  /** No retry waits longer. Default 30 s. */
  maxMs?: number;
  /** A connection live this long resets the back-off. Default 10 s. */
  stableMs?: number;
}

export interface RateOptions {
  /** Frames per second the client sends at most. Default 80 (the server allows 100). */
  perSecond?: number;
  /** Frames it may send at once. Default 160 (the server allows 200). */
  burst?: number;
}

export interface ClientOptions {
  /** `wss://host/ws`. Give `url` or `urls`. */
  url?: string;
  /** Several replicas' URLs: the client moves to the next one when a replica drains (1012). */
  urls?: string[];
  /** The JWT to connect with. Without `token` and `getToken` the connection is anonymous. */
  token?: string;
  /** Called for a token on the first connect (without `token`), after a 4001 and to refresh it. */
  getToken?: () => string | Promise<string>;
  /** The WebSocket class. Default `globalThis.WebSocket`; in Node 20 pass `ws`'s `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** How long a sent request waits for its reply. Default 10 s. */
  timeoutMs?: number;
  /** Requests waiting to be sent (while disconnected, or paced); more are refused. Default 1000. */
  queueSize?: number;
  backoff?: BackoffOptions;
  rate?: RateOptions;
  /** Ids remembered per room, stream and inbox to drop repeats. Default 1000. */
  dedupeWindow?: number;
  /**
   * What the first connection does with the direct-message inbox (reconnects always resume from
   * the last seq seen): `live` (default) follows it from now, as the server does; `history`
   * first delivers what history keeps (`chat.inbox {since: 0}`); a position resumes from there.
   */
  inbox?: 'live' | 'history' | Position;
  /**
   * When to refresh the token with `getToken` + `auth.refresh`, as a fraction of the time from
   * getting it to its `exp`. Default 0.8; false never refreshes (the server then closes with 4001).
   */
  refreshAt?: number | false;
  /** Frames larger than this are refused locally (the server closes with 1009). Default 64 KiB. */
  maxFrameBytes?: number;
  /** For tests: a source of randomness for the back-off's jitter in [0, 1). */
  random?: () => number;
}
