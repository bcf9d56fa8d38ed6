import type { ClientError } from './errors';

/** A message body: a string or a JSON object. */
export type Body = string | Record<string, unknown>;

/** `welcome`: the first frame of every connection. */
export interface Welcome {
  connectionId: string;
  replica: string;
  /** Null on an anonymous connection. */
  userId: string | null;
}

/** `chat.message`: a message of a room this client joined. */
export interface ChatMessage {
  room: string;
  id: string;
  seq: number;
  from: string;
  body: Body;
  ts: number;
}

/** `chat.direct`: a direct message to this user, or from this user's other connections. */
export interface DirectMessage {
  id: string;
  seq: number;
  from: string;
  to: string;
  body: Body;
  ts: number;
}

/** `notification`: a message of a stream this client subscribed to. */
export interface Notification {
  stream: string;
  id: string;
  seq: number;
  payload: unknown;
  ts: number;
}

/** `presence.join` / `presence.leave` in a joined room. */
export interface PresenceChange {
  type: 'join' | 'leave';
  room: string;
  userId: string;
}

/** What `send` and `direct` resolve with once the message is stored. */
export interface Published {
  id: string;
  seq: number;
}

export interface JoinResult {
  room: string;
  /** The last seq of the room this client has. */
  seq: number;
  epoch: string;
  recovered: boolean;
}

export interface SubscribeResult {
  streams: string[];
  epoch: string;
  recovered: boolean;
  /** The last seq of each stream this client has. */
  seqs: Record<string, number>;
}

export interface LeaveResult {
  room: string;
  left: boolean;
}

export interface UnsubscribeResult {
  streams: string[];
}

/** `presence.query {room}`. */
export interface RoomPresence {
  room: string;
  users: string[];
}

/** `presence.query {users}`. */
export interface UsersPresence {
  online: Record<string, boolean>;
}

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

/** Every event of `client.on(...)`. */
export interface ClientEvents {
  state: StateEvent;
  welcome: Welcome;
  message: ChatMessage;
  direct: DirectMessage;
  notification: Notification;
  presence: PresenceChange;
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
