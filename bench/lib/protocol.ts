import type { HistogramData } from './histogram';

/**
 * The orchestrator drives each load-generator process over Node's IPC channel: one request, one
 * answer, correlated by id. `Commands` maps each command to its arguments and its result.
 */

/** How a worker's sockets authenticate: ours signs one HS256 token per user; raw ws has none. */
export type Auth = { secret: string; userPrefix: string } | null;

export interface FanoutTiming {
  /** Measurement window on the shared monotonic clock (µs); sending starts at once (warm-up). */
  t0Us: number;
  t1Us: number;
}

export interface SubscriberReport {
  sockets: number;
  /** Frames received with receive time in [t0, t1]: the throughput figure. */
  receivedInWindow: number;
  /** Frames whose send time is in [t0, t1], whenever they arrived: completeness and latency. */
  sentInWindowReceived: number;
  latency: HistogramData;
  /** Mean size of the counted frames, bytes. */
  meanFrameBytes: number;
  /** Close codes seen since the sockets were opened. */
  closes: Record<string, number>;
}

export interface PublisherReport {
  sent: number;
  sentInWindow: number;
  /** Replies (ours) or own echoes (raw) received. */
  acked: number;
  /** Error frames by code (ours). */
  errors: Record<string, number>;
  /** Send → reply (ours) or send → own echo (raw). */
  ackLatency: HistogramData;
  /** Still unacknowledged when the publisher gave up waiting. */
  outstanding: number;
}

/** One chatters process's view of a window: what it sent and every delivery of it. */
export interface ChatReport {
  sockets: number;
  /** Deliveries each message should have (room size, or 1 for a DM). */
  deliveriesPerMessage: number;
  sent: number;
  sentInWindow: number;
  /** Messages with every delivery in (or an `error` answer). */
  acked: number;
  receivedInWindow: number;
  receivedBytes: number;
  sentInWindowReceived: number;
  /** Error frames by code (ours). */
  errors: Record<string, number>;
  latency: HistogramData;
  /** Send → last delivery of the message. */
  ackLatency: HistogramData;
  /** Send → the sender's `reply` (ours: the store's ack has come back). */
  replyLatency: HistogramData;
  outstanding: number;
  closes: Record<string, number>;
}

export interface IdleReport {
  connected: number;
  failed: number;
  elapsedMs: number;
  firstError?: string;
}

export interface StormReport {
  clients: number;
  /** Clients whose victim connection closed. */
  closed: number;
  /** Of those, clients that reconnected to a survivor and got their resume reply. */
  resumed: number;
  attempts: number;
  failedAttempts: number;
  elapsedMs: number;
  firstClosedUs: number;
  lastResumedUs: number;
  /** Close → open of the new socket (the upgrade, queueing in the kernel included). */
  upgrade: HistogramData;
  /** Close → the resume's join reply: the client is live again. */
  resume: HistogramData;
  firstError?: string;
}

export interface Commands {
  /** Opens `count` sockets, joins `room` on each (ours), resolves when all have joined. */
  subscribe: {
    args: { url: string; auth: Auth; count: number; room: string; concurrency: number };
    result: { sockets: number; elapsedMs: number };
  };
  /** Starts counting a new measurement window (resets the counters). */
  window: { args: FanoutTiming; result: null };
  /** Waits until no frame came for `quietMs` (at most `maxMs`), then reports the window. */
  drain: { args: { quietMs: number; maxMs: number }; result: SubscriberReport };
  /** Opens the publisher's socket (and joins the room, ours). */
  publisherSetup: {
    args: { url: string; auth: Auth; room: string; kind: 'ours' | 'raw' };
    result: null;
  };
  /**
   * Publishes until t1: at `rate` messages/s, or with `rate` null as fast as a window of `window`
   * unacknowledged sends allows. `padTo` pads raw frames to the size of ours.
   */
  publish: {
    args: FanoutTiming & { rate: number | null; window: number; padTo: number };
    result: PublisherReport;
  };
  /** Opens `count` idle sockets (each waits for `welcome` when authenticated). */
  connectIdle: {
    args: { url: string; auth: Auth; count: number; concurrency: number };
    result: IdleReport;
  };
  /**
   * Opens `count` sockets to the victim, each joining one of `rooms` rooms; when one closes it
   * reconnects to `survivors[i % n]` and resumes its room (see storm-clients.ts).
   */
  stormConnect: {
    args: {
      url: string;
      survivors: string[];
      auth: { secret: string; userPrefix: string };
      count: number;
      rooms: number;
      roomPrefix: string;
      concurrency: number;
    };
    result: StormReport;
  };
  /** Waits until every storm client has resumed, at most `maxMs`. */
  stormWait: { args: { maxMs: number }; result: StormReport };
  /**
   * Opens `count` chatting users (see `Chatters`): sockets alternate over `urls`; ours authenticate
   * as `${prefix}${i}` and join their room, raw ones name their room or user in the URL.
   */
  chatSetup: {
    args: {
      urls: string[];
      auth: Auth;
      prefix: string;
      count: number;
      mode: 'rooms' | 'dms';
      roomSize: number;
      concurrency: number;
    };
    result: { sockets: number; elapsedMs: number };
  };
  /** Chats until t1 at `rate` messages/s, or with `rate` null with `window` messages in flight. */
  chat: {
    args: FanoutTiming & { rate: number | null; window: number; padTo: number };
    result: ChatReport;
  };
  /** Closes every socket of this worker. */
  closeAll: { args: null; result: null };
}

export type CommandName = keyof Commands;

export interface Request<K extends CommandName = CommandName> {
  id: number;
  command: K;
  args: Commands[K]['args'];
}

export type Response =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
