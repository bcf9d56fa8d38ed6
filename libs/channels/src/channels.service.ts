import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  HistoryStore,
  LAST_SEQ_HEADER,
  SEQ_HEADER,
  liveSubject,
  type StoredMessage,
} from '@app/history';
import type { Published } from '@app/protocol';
import { Relay, type RelayMessage } from '@app/relay';
import { AppError, CloseCode } from '@app/core';
import { WireFrame, WsMetrics, encodeFrame, type Connection, type ServerEvents } from '@app/ws';
import { Registry } from 'prom-client';
import { ChannelsMetrics } from './channels-metrics';
import {
  CHANNELS_OPTIONS,
  type ChannelsOptions,
  DEFAULT_PUBLISH_MAX_INFLIGHT,
} from './channels-options';
import { PublishAdmission } from './publish-admission';
import { encodeStored, toFrame, toWireFrame } from './frame-codec';
import { walkReplay } from './replay-pages';

/** History reads a gap fill tries before it gives up and sends the members to resume. */
const FILL_ATTEMPTS = 3;

const UNKNOWN = -1;

/** Set on a published message to keep it from the connection that sent it. */
export const ORIGIN_HEADER = 'Rt-Origin';

export interface JoinOptions {
  /** Deliver every kept message with seq > since before any live one. */
  since?: number;
  /** The epoch the client's `since` belongs to. */
  epoch?: string;
}

export interface JoinResult {
  /** The last seq this connection has of the channel once the join returns. */
  seq: number;
  epoch: string;
  /** False when the history no longer reaches back to `since` (or was reset). */
  recovered: boolean;
}

/** What a publish stored: the wire's `Published`. */
export type { Published } from '@app/protocol';

export interface PublishOptions {
  /** Not sent its own message. */
  origin?: Connection;
  /** The message id (one message stored in several channels keeps one id); default a new UUID. */
  id?: string;
}

/** One channel a message is stored in, with its dedupe key there. */
export interface PublishTarget {
  channel: string;
  msgID?: string;
}

interface PendingFrame {
  seq: number;
  /** Framed once for every member's socket. */
  frame: WireFrame;
  origin?: string;
  /** The channel's previous seq (`Nats-Last-Sequence`), when the message carried it. */
  previous?: number;
}

/**
 * One connection in one channel. It has every message with seq in (from, after]; a resume sends
 * only what lies outside that range, so nothing reaches the same connection twice. `from` is
 * UNKNOWN for a member that follows live without a history read until its first message.
 */
interface Member {
  from: number;
  after: number;
  /** Live messages held while a join or resume is in progress. */
  pending?: PendingFrame[];
  /** Bytes of `pending`: past the socket's bound the connection is closed (1013) to resume. */
  pendingBytes?: number;
  /** The join in progress: joins of one member run one after the other. */
  busy?: Promise<unknown>;
}

const NO_CHANNELS: ReadonlySet<string> = new Set();

interface Channel {
  readonly name: string;
  readonly members: Map<Connection, Member>;
  /** Highest seq this replica has seen of the channel (0: none yet). */
  lastSeq: number;
  /** Whether `lastSeq` is where the channel stood (after a history read or a live message). */
  known: boolean;
  /** Live messages held while a gap is filled from history. */
  filling?: PendingFrame[];
  /** Bytes of `filling`: past the members' socket bound they are sent to resume instead. */
  fillingBytes?: number;
  /** Resolves once the channel's relay subscription is active on the broker; then dropped. */
  ready?: Promise<void>;
  unsubscribe: () => void;
}

/**
 * Channel → local connections, for every module. A replica subscribes to a channel's live subject
 * when its first local member joins and unsubscribes when the last one leaves, so the broker only
 * routes a message to replicas with an interested client. Each message is turned into a frame once
 * and the same bytes are written to every member.
 */
@Injectable()
export class ChannelsService {
  private readonly logger = new Logger(ChannelsService.name);
  private readonly channels = new Map<string, Channel>();
  private readonly memberships = new WeakMap<Connection, Set<string>>();
  private readonly metrics: ChannelsMetrics;
  private readonly admission: PublishAdmission;

  /** `registry` and `ws` come from the app's metrics; without them, metrics stay private. */
  constructor(
    private readonly relay: Relay,
    private readonly history: HistoryStore,
    @Optional() registry?: Registry,
    @Optional() ws?: WsMetrics,
    @Optional() @Inject(CHANNELS_OPTIONS) options?: ChannelsOptions,
  ) {
    this.admission = new PublishAdmission(
      options?.publishMaxInflight ?? DEFAULT_PUBLISH_MAX_INFLIGHT,
      () => this.metrics.publishRefused.inc(),
    );
    this.metrics = new ChannelsMetrics(this.channels, this.admission, registry, ws);
    // Core messages published while this replica was away from the broker are lost to it.
    relay.onReconnected(() => {
      for (const ch of this.channels.values()) void this.catchUp(ch);
    });
  }

  /**
   * Adds `conn` to `channel`. With `since`, replays what it missed first, holding live messages
   * meanwhile, so that each message arrives once and in order. Joining again re-runs the resume.
   */
  async join(conn: Connection, channel: string, options: JoinOptions = {}): Promise<JoinResult> {
    const ch = this.channels.get(channel) ?? this.open(channel);
    let member = ch.members.get(conn);
    const isNew = !member;
    if (!member) {
      member = { from: 0, after: 0, pending: [] };
      ch.members.set(conn, member);
      this.track(conn, channel);
    }
    const joined = member;
    const run = async (): Promise<JoinResult> => {
      this.assertBroker();
      joined.pending ??= [];
      await ch.ready;
      return options.since === undefined
        ? this.start(conn, channel, joined, isNew)
        : this.resume(conn, channel, joined, options.since, options.epoch);
    };
    const task = (joined.busy ?? Promise.resolve()).then(run, run);
    joined.busy = task.catch(() => undefined);
    try {
      const result = await task;
      // What a join read of the history tells how far the channel has gone (for gap detection).
      if (result.seq > ch.lastSeq) ch.lastSeq = result.seq;
      ch.known = true;
      return result;
    } catch (error) {
      if (isNew) this.leave(conn, channel);
      else this.release(conn, joined, joined.after);
      throw error;
    }
  }

  /**
   * Adds `conn` to `channel` for live messages only, without reading history: cheap enough to run
   * for every connection at connect time (a user's inbox). A later `join` with `since` resumes.
   */
  async follow(conn: Connection, channel: string): Promise<void> {
    const ch = this.channels.get(channel) ?? this.open(channel);
    if (!ch.members.has(conn)) {
      ch.members.set(conn, { from: UNKNOWN, after: 0 });
      this.track(conn, channel);
    }
    await ch.ready;
  }

  leave(conn: Connection, channel: string): boolean {
    const ch = this.channels.get(channel);
    if (!ch?.members.delete(conn)) return false;
    this.memberships.get(conn)?.delete(channel);
    if (ch.members.size === 0) {
      ch.unsubscribe();
      this.channels.delete(channel);
    }
    return true;
  }

  isMember(conn: Connection, channel: string): boolean {
    return this.channels.get(channel)?.members.has(conn) ?? false;
  }

  /**
   * Whether `conn` is a member once its join in progress, if any, has settled. A publish that
   * waits for it gets a seq above the join's starting point, so a client that sends right after
   * joining, without waiting for the reply, still receives its own message.
   */
  async isJoined(conn: Connection, channel: string): Promise<boolean> {
    await this.channels.get(channel)?.members.get(conn)?.busy;
    return this.isMember(conn, channel);
  }

  /** The channels `conn` is in or joining (for per-connection limits). */
  channelsOf(conn: Connection): ReadonlySet<string> {
    return this.memberships.get(conn) ?? NO_CHANNELS;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /**
   * Stores the message in the channel's history and relays it to every member on every replica.
   * Resolves once stored, with its id and seq. `origin` is not sent its own message; `id` lets one
   * message stored in several channels keep one id (clients dedupe by it); `msgID` dedupes
   * repeats within the history's duplicate window (the first message's seq is returned).
   * Past the replica's appends in flight it rejects at once with `overloaded`: nothing stored.
   */
  async publish(
    channel: string,
    event: string,
    data: Record<string, unknown>,
    options: PublishOptions & { msgID?: string } = {},
  ): Promise<Published> {
    const [published] = await this.publishAll(
      [{ channel, msgID: options.msgID }],
      event,
      data,
      options,
    );
    return published!;
  }

  /**
   * One message stored in several channels under one id (a direct message in both inboxes),
   * admitted as a whole: refused with `overloaded` in every channel or in none. Resolves with what
   * each channel stored, in the order of `targets`.
   */
  async publishAll(
    targets: readonly PublishTarget[],
    event: string,
    data: Record<string, unknown>,
    options: PublishOptions = {},
  ): Promise<Published[]> {
    this.assertBroker();
    const release = this.admission.admit(targets.length);
    const started = performance.now();
    const id = options.id ?? randomUUID();
    const stored = encodeStored(event, { id, ...data, ts: Date.now() });
    const headers = options.origin ? { [ORIGIN_HEADER]: options.origin.id } : undefined;
    // The slots are held until every append has settled, failed ones included.
    const settled = await Promise.allSettled(
      targets.map(({ channel, msgID }) =>
        this.metrics.timeAppend(() =>
          this.untilBrokerLost(this.history.publishStored(channel, stored, headers, { msgID })),
        ),
      ),
    );
    release(performance.now() - started);
    return settled.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return { id, seq: result.value.seq };
    });
  }

  /**
   * `stored`, or `unavailable` as soon as the broker connection drops while it is in flight: its
   * answer would never come, and the caller would wait the whole request timeout. Whether it was
   * stored is unknown; a retry with the same key (msgID) stores it at most once.
   */
  private untilBrokerLost<T>(stored: Promise<T>): Promise<T> {
    let stop = (): void => undefined;
    const lost = new Promise<never>((_, reject) => {
      stop = this.relay.onStateChange((state) => {
        if (state === 'connected') return;
        reject(
          new AppError(
            'unavailable',
            'the broker connection dropped while storing: it may or may not be stored, send it again (with the same key)',
          ),
        );
      });
    });
    return Promise.race([stored, lost]).finally(stop);
  }

  /**
   * While the broker is away, publishes and history reads would wait for a timeout (nats.js
   * buffers them); the caller learns at once instead, and retries.
   */
  private assertBroker(): void {
    if (this.relay.state !== 'connected') {
      throw new AppError('unavailable', 'message broker unreachable, retry later');
    }
  }

  private open(channel: string): Channel {
    const ch: Channel = {
      name: channel,
      members: new Map(),
      lastSeq: 0,
      known: false,
      unsubscribe: () => undefined,
    };
    ch.unsubscribe = this.relay.subscribe(liveSubject(channel), (message) =>
      this.receive(ch, message),
    );
    const ready = this.relay.flush();
    ch.ready = ready;
    // Dropped once settled: a settled promise per idle channel is memory for nothing, and a failed
    // flush (broker away) must not fail this channel's later joins: nats.js subscribes again on
    // reconnect, and `assertBroker` refuses joins meanwhile.
    const settled = (): void => {
      if (ch.ready === ready) delete ch.ready;
    };
    ready.then(settled, settled);
    this.channels.set(channel, ch);
    return ch;
  }

  /**
   * A live message. Its `Nats-Last-Sequence` names the channel's previous message: when that is
   * newer than anything seen here, messages were lost on the way (core NATS drops what arrives
   * while a replica reconnects), so live delivery holds while the gap is filled from history.
   */
  private receive(ch: Channel, message: RelayMessage): void {
    const seq = Number(message.headers?.[SEQ_HEADER]);
    if (!Number.isSafeInteger(seq)) {
      this.logger.warn({ channel: ch.name, msg: 'live message without a sequence number dropped' });
      return;
    }
    const previous = Number(message.headers?.[LAST_SEQ_HEADER]);
    const live: PendingFrame = {
      seq,
      frame: toWireFrame(message.data, seq),
      origin: message.headers?.[ORIGIN_HEADER],
      ...(Number.isSafeInteger(previous) && previous < seq && { previous }),
    };
    if (ch.filling) this.holdForFill(ch, live);
    else if (ch.known && live.previous !== undefined && live.previous > ch.lastSeq) {
      ch.filling = [live];
      void this.fill(ch, ch.lastSeq);
    } else this.deliver(ch, live);
  }

  /** After a broker outage: whatever the channel stored meanwhile is read from history. */
  private async catchUp(ch: Channel): Promise<void> {
    if (!ch.known || ch.filling) return;
    try {
      const head = await this.history.head(ch.name);
      if (head.seq <= ch.lastSeq || ch.filling) return;
      ch.filling = [];
      await this.fill(ch, ch.lastSeq);
    } catch (error) {
      this.logger.warn({ channel: ch.name, err: (error as Error).message, msg: 'catch-up failed' });
    }
  }

  /**
   * Delivers what history holds after `after`, page by page while the members' sockets have room,
   * then the live messages held meanwhile. When history cannot be read (retried a few times), the
   * members are closed with 1013: their clients resume from their own last seq, instead of being
   * moved past messages they never got.
   */
  private async fill(ch: Channel, after: number): Promise<void> {
    const holding = ch.filling;
    let from = after;
    let filled = 0;
    const each = async (stored: StoredMessage): Promise<boolean> => {
      if (ch.filling !== holding) return false; // given up: the members were sent to resume
      await this.whenMembersWritable(ch);
      if (ch.filling !== holding) return false;
      this.deliver(ch, {
        seq: stored.seq,
        frame: toWireFrame(stored.data, stored.seq),
        origin: stored.headers?.[ORIGIN_HEADER],
      });
      from = stored.seq;
      filled++;
      return true;
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const first = await this.history.replay(ch.name, from);
        if (!(await walkReplay(this.history, ch.name, first, each)).complete) return;
        this.logger.warn({
          channel: ch.name,
          after,
          recovered: filled,
          msg: 'live gap filled from history',
        });
        break;
      } catch (error) {
        if (attempt < FILL_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
          continue;
        }
        this.logger.warn({
          channel: ch.name,
          err: (error as Error).message,
          members: ch.members.size,
          msg: 'live gap could not be filled: members must resume',
        });
        this.abandonFill(ch);
        return;
      }
    }
    if (ch.filling !== holding) return;
    const held = ch.filling ?? [];
    this.endFill(ch);
    for (const live of held) this.deliver(ch, live);
  }

  /** Holds a live message while a gap is filled; past the bound the members must resume. */
  private holdForFill(ch: Channel, live: PendingFrame): void {
    ch.fillingBytes = (ch.fillingBytes ?? 0) + live.frame.bytes.length;
    if (ch.fillingBytes <= this.holdLimit(ch)) {
      ch.filling?.push(live);
      return;
    }
    this.logger.warn({
      channel: ch.name,
      members: ch.members.size,
      msg: 'live messages held during a gap fill passed the bound: members must resume',
    });
    if (live.seq > ch.lastSeq) ch.lastSeq = live.seq;
    this.abandonFill(ch);
  }

  private abandonFill(ch: Channel): void {
    this.endFill(ch);
    for (const conn of [...ch.members.keys()])
      conn.close(CloseCode.TryAgainLater, 'missed messages: resume');
  }

  private endFill(ch: Channel): void {
    ch.filling = undefined;
    delete ch.fillingBytes;
  }

  /** What may be held for a channel's members: their sockets' bound (the same for all). */
  private holdLimit(ch: Channel): number {
    for (const conn of ch.members.keys()) return conn.bufferLimit;
    return 0;
  }

  private async whenMembersWritable(ch: Channel): Promise<void> {
    const waits: Promise<boolean>[] = [];
    for (const conn of ch.members.keys()) if (!conn.hasRoom) waits.push(conn.whenWritable());
    if (waits.length > 0) await Promise.all(waits);
  }

  /** Writes one frame to every member (held members keep it for their release). */
  private deliver(ch: Channel, live: PendingFrame): void {
    if (live.seq > ch.lastSeq) ch.lastSeq = live.seq;
    ch.known = true;
    const { seq, frame, origin } = live;
    let sent = 0;
    for (const [conn, member] of ch.members) {
      if (member.pending) this.hold(conn, member, live);
      else if (seq > member.after && conn.id !== origin) {
        if (member.from === UNKNOWN) member.from = live.previous ?? seq - 1;
        member.after = seq;
        if (conn.sendWire(frame)) sent++;
      }
    }
    if (sent > 0) this.metrics.delivered(frame.payload, sent);
  }

  private async start(
    conn: Connection,
    channel: string,
    member: Member,
    isNew: boolean,
  ): Promise<JoinResult> {
    const head = await this.history.head(channel);
    if (isNew || member.from === UNKNOWN) member.from = head.seq;
    this.release(conn, member, Math.max(head.seq, member.after));
    return { seq: member.after, epoch: head.epoch, recovered: true };
  }

  /**
   * Replays what the member missed, page by page, writing only while its socket has room (a client
   * that reads gets any backlog; one that does not is closed with 1013), while live messages are
   * held; then releases those above the last replayed seq.
   */
  private async resume(
    conn: Connection,
    channel: string,
    member: Member,
    since: number,
    epoch: string | undefined,
  ): Promise<JoinResult> {
    let first = await this.history.replay(channel, since, epoch);
    // A new history (another epoch, or a `since` beyond its end: a client of a reset history that
    // sent no epoch) makes the client's `since` and what it holds meaningless: send the whole new one.
    const reset = (epoch !== undefined && epoch !== first.epoch) || since > first.seq;
    if (reset) first = { ...(await this.history.replay(channel, 0)), recovered: false };
    const held =
      reset || member.from === UNKNOWN
        ? { from: 0, after: 0 }
        : { from: member.from, after: member.after };
    let last = reset ? 0 : since;
    const end = await walkReplay(this.history, channel, first, async (message) => {
      if (message.seq > held.from && message.seq <= held.after) {
        last = message.seq;
        return true;
      }
      if (!(conn.isOpen && conn.hasRoom) && !(await conn.whenWritable())) return false;
      last = message.seq;
      const frame = toFrame(message.data, message.seq);
      if (conn.sendFrame(frame)) this.metrics.delivered(frame, 1, true);
      return true;
    });
    const { recovered } = end;
    member.from = reset ? 0 : Math.min(since, held.after > held.from ? held.from : since);
    this.release(conn, member, Math.max(last, end.complete ? end.last.seq : 0, held.after));
    (recovered ? this.metrics.recoveredReplays : this.metrics.unrecoveredReplays).inc();
    return { seq: member.after, epoch: first.epoch, recovered };
  }

  /** Holds a live message during a join; past the socket's bound the client must resume. */
  private hold(conn: Connection, member: Member, live: PendingFrame): void {
    member.pendingBytes = (member.pendingBytes ?? 0) + live.frame.bytes.length;
    if (member.pendingBytes <= conn.bufferLimit) member.pending?.push(live);
    else conn.closeSlow();
  }

  /** Ends a hold: delivers held live messages above `after`, then goes live. */
  private release(conn: Connection, member: Member, after: number): void {
    member.after = after;
    for (const held of member.pending ?? []) {
      if (held.seq > member.after && conn.id !== held.origin) {
        member.after = held.seq;
        if (conn.sendWire(held.frame)) this.metrics.delivered(held.frame.payload, 1);
      }
    }
    member.pending = undefined;
    delete member.pendingBytes;
  }

  private track(conn: Connection, channel: string): void {
    let joined = this.memberships.get(conn);
    if (!joined) {
      joined = new Set();
      this.memberships.set(conn, joined);
      conn.onClose(() => {
        for (const name of [...(this.memberships.get(conn) ?? [])]) this.leave(conn, name);
      });
    }
    joined.add(channel);
  }

  /**
   * Writes one frame to this replica's members of `channel`, nothing stored (presence changes);
   * returns how many got it. Members still joining get it too: it has no seq to hold it by.
   */
  sendEphemeral<E extends keyof ServerEvents>(
    channel: string,
    event: E,
    data: ServerEvents[E],
  ): number {
    const ch = this.channels.get(channel);
    if (!ch) return 0;
    const frame = new WireFrame(Buffer.from(encodeFrame(event, data)));
    let sent = 0;
    for (const conn of ch.members.keys()) if (conn.sendWire(frame)) sent++;
    return sent;
  }
}
