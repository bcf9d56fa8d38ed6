import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Relay } from '@app/relay';
import { AppError } from '@app/core';
import { AppConfig } from '../config';
import {
  type ReplicaStats,
  decode,
  encode,
  type AnswerMessage,
  type HeartbeatMessage,
  type QueryMessage,
} from './presence.messages';
import { PresenceSubject } from './presence.subjects';

/** Heartbeats one instance may miss before the others drop it. */
const MISSED_HEARTBEATS = 3;

/**
 * Which replicas are alive, and look-ups asked of all of them. Each process run is an instance
 * with its own id, so a replica restarted under the same REPLICA_ID never inherits stale entries.
 */
@Injectable()
export class PresenceCluster implements OnModuleInit, OnApplicationShutdown {
  readonly instance = randomUUID();
  private readonly logger = new Logger(PresenceCluster.name);
  private readonly lastHeard = new Map<string, number>();
  /** The last heartbeat of each live instance: its replica name and stats (for the console). */
  private readonly peers = new Map<string, { replica: string; stats?: ReplicaStats; at: number }>();
  private stats: () => Promise<ReplicaStats | undefined> = () => Promise.resolve(undefined);
  private readonly goneListeners: Array<(instance: string) => void> = [];
  private rooms: () => number = () => 0;
  private resync: () => void = () => undefined;
  private reconnectListeners: Array<() => void> = [];
  private readonly pending = new Map<
    number,
    { expected: Set<string>; answers: AnswerMessage[]; done: () => void }
  >();
  private answerLocally?: (query: QueryMessage) => Map<string, number>;
  private nextQuery = 1;
  private timer?: NodeJS.Timeout;
  private reaper?: NodeJS.Timeout;
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    private readonly relay: Relay,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribes.push(
      this.relay.subscribe(PresenceSubject.heartbeat, (m) => this.onHeartbeat(m.data)),
      this.relay.subscribe(PresenceSubject.query, (m) => this.onQuery(m.data)),
      this.relay.subscribe(PresenceSubject.reply(this.instance), (m) => this.onAnswer(m.data)),
      this.relay.onReconnected(() => this.onBrokerBack()),
    );
    this.timer = setInterval(() => this.beat(), this.config.presence.heartbeatMs);
    this.timer.unref();
    // Checked four times a beat, so a dead replica is dropped at most a quarter beat late.
    this.reaper = setInterval(() => this.reap(), this.config.presence.heartbeatMs / 4);
    this.reaper.unref();
    this.beat();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.reaper);
    // Others drop this instance at once instead of after missed heartbeats.
    await this.send(PresenceSubject.heartbeat, { t: 'bye', i: this.instance });
    for (const off of this.unsubscribes) off();
  }

  /** Calls `listener` with each instance that died or said goodbye. */
  onGone(listener: (instance: string) => void): void {
    this.goneListeners.push(listener);
  }

  /**
   * `rooms` counts the rooms this instance has members in (sent with each heartbeat); `resync`
   * publishes a snapshot of each, when another instance asks.
   */
  trackRooms(rooms: () => number, resync: () => void): void {
    this.rooms = rooms;
    this.resync = resync;
  }

  /** What this instance reports with each heartbeat. */
  reportWith(stats: () => Promise<ReplicaStats>): void {
    this.stats = stats;
  }

  /** Every live instance, this one first, with what it last reported. */
  async members(): Promise<
    Array<{ instance: string; replica: string; self: boolean; stats?: ReplicaStats; at: number }>
  > {
    const own = {
      instance: this.instance,
      replica: this.config.replicaId,
      self: true,
      stats: await this.stats(),
      at: Date.now(),
    };
    const others = [...this.peers].map(([instance, peer]) => ({ instance, self: false, ...peer }));
    return [own, ...others];
  }

  /** Calls `listener` when the broker comes back: what was published meanwhile was lost. */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** What this instance answers to a look-up (local connection counts). */
  answerWith(answer: (query: QueryMessage) => Map<string, number>): void {
    this.answerLocally = answer;
  }

  /** Notes that `instance` is alive (any message from it counts). */
  heard(instance: string): void {
    if (instance !== this.instance) this.lastHeard.set(instance, Date.now());
  }

  /** Presence look-ups need the broker: without it only this replica would answer, falsely. */
  assertAvailable(): void {
    if (this.relay.state !== 'connected') {
      throw new AppError('unavailable', 'presence is unavailable while the broker is unreachable');
    }
  }

  /**
   * Asks every live instance (this one included) and sums their counts; an instance that does not
   * answer within the bound is left out (it is about to be declared dead anyway). A `Map`: user ids
   * such as `__proto__` or `constructor` are keys like any other.
   */
  async gather(query: Omit<QueryMessage, 'i' | 'n'>): Promise<Map<string, number>> {
    this.assertAvailable();
    const n = this.nextQuery++;
    const total = this.answerLocally?.({ ...query, i: this.instance, n }) ?? new Map();
    const expected = new Set(this.lastHeard.keys());
    const answers: AnswerMessage[] = [];
    if (expected.size > 0) {
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(finish, this.config.presence.heartbeatMs);
        function finish(): void {
          clearTimeout(timeout);
          resolve();
        }
        this.pending.set(n, { expected, answers, done: finish });
        this.send(PresenceSubject.query, { ...query, i: this.instance, n }).catch(finish);
      });
      this.pending.delete(n);
    }
    for (const answer of answers) {
      for (const [key, count] of countsOf(answer.counts))
        total.set(key, (total.get(key) ?? 0) + count);
    }
    return total;
  }

  /** Publishes, logging instead of failing: presence is best effort while the broker is away. */
  async send(subject: string, message: object): Promise<void> {
    try {
      await this.relay.publish(subject, { data: encode(message) });
    } catch (error) {
      this.logger.debug({ subject, err: (error as Error).message, msg: 'presence publish failed' });
    }
  }

  /**
   * Nobody can be heard while the broker is away, so nobody is declared dead meanwhile; when it
   * is back, everyone gets a fresh window (a replica that really died is dropped three beats later).
   */
  private onBrokerBack(): void {
    const now = Date.now();
    for (const instance of this.lastHeard.keys()) this.lastHeard.set(instance, now);
    for (const listener of this.reconnectListeners) listener();
  }

  private beat(): void {
    void this.stats()
      .catch(() => undefined)
      .then((s) =>
        this.send(PresenceSubject.heartbeat, {
          t: 'hb',
          i: this.instance,
          r: this.config.replicaId,
          n: this.rooms(),
          ...(s && { s }),
        }),
      );
  }

  private reap(): void {
    if (this.relay.state !== 'connected') return;
    const deadline = Date.now() - this.config.presence.heartbeatMs * MISSED_HEARTBEATS;
    for (const [instance, heard] of this.lastHeard) {
      if (heard < deadline) this.gone(instance, 'missed heartbeats');
    }
  }

  private gone(instance: string, reason: string): void {
    this.peers.delete(instance);
    if (!this.lastHeard.delete(instance)) return;
    this.logger.log({ instance, reason, msg: 'presence: replica dropped' });
    for (const listener of this.goneListeners) listener(instance);
  }

  private onHeartbeat(data: Uint8Array): void {
    const message = decode<HeartbeatMessage>(data);
    if (!message || typeof message.i !== 'string' || message.i === this.instance) return;
    if (message.t === 'bye') this.gone(message.i, 'goodbye');
    else if (message.t === 'resync') {
      if (message.to === this.instance) this.resync();
    } else {
      // An instance we do not know that has members somewhere was dropped by us (an outage, a
      // partition) or found us dropped: when both have rooms, ask it for its snapshots again.
      const known = this.lastHeard.has(message.i);
      this.heard(message.i);
      this.peers.set(message.i, { replica: String(message.r), stats: message.s, at: Date.now() });
      if (!known && message.n > 0 && this.rooms() > 0) {
        void this.send(PresenceSubject.heartbeat, { t: 'resync', i: this.instance, to: message.i });
      }
    }
  }

  private onQuery(data: Uint8Array): void {
    const query = decode<QueryMessage>(data);
    if (!query || typeof query.i !== 'string' || query.i === this.instance) return;
    this.heard(query.i);
    const counts = this.answerLocally?.(query) ?? new Map<string, number>();
    // fromEntries defines own keys: `__proto__` stays a user id on the wire.
    const answer: AnswerMessage = {
      i: this.instance,
      n: query.n,
      counts: Object.fromEntries(counts),
    };
    void this.send(PresenceSubject.reply(query.i), answer);
  }

  private onAnswer(data: Uint8Array): void {
    const answer = decode<AnswerMessage>(data);
    if (!answer || typeof answer.i !== 'string') return;
    this.heard(answer.i);
    const pending = this.pending.get(answer.n);
    if (!pending || !pending.expected.delete(answer.i)) return;
    pending.answers.push(answer);
    if (pending.expected.size === 0) pending.done();
  }
}

/** A peer's counts, keeping only well-formed entries (a peer's message is input too). */
function countsOf(counts: unknown): Array<[string, number]> {
  if (typeof counts !== 'object' || counts === null) return [];
  return Object.entries(counts).filter(
    (entry): entry is [string, number] =>
      Number.isSafeInteger(entry[1]) && (entry[1] as number) >= 0,
  );
}
