import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Relay } from '@app/relay';
import { AppConfig } from '../config';
import { ClusterPublisher } from './cluster-publisher';
import { decode, type HeartbeatMessage, type ReplicaStats } from './cluster.messages';
import { ClusterSubject } from './cluster.subjects';
import { ReplicaStatsReader } from './replica-stats';

/** Heartbeats one instance may miss before the others drop it. */
const MISSED_HEARTBEATS = 3;

export interface ClusterMember {
  instance: string;
  /** Its REPLICA_ID. */
  replica: string;
  /** Whether it is this instance. */
  self: boolean;
  /** What it last reported (absent when it reported nothing). */
  stats?: ReplicaStats;
  /** When it reported, in ms since the epoch. */
  at: number;
}

/**
 * Which replicas are alive: heartbeats out, heartbeats in, a replica dropped when it misses three
 * or says goodbye. Each process run is an instance with its own id, so a replica restarted under
 * the same REPLICA_ID never inherits stale entries.
 *
 * After a broker outage everyone gets a fresh window here, in this class's own
 * `relay.onReconnected` listener. Presence and webhooks listen to `relay.onReconnected` directly:
 * the only reader of the refreshed times is the reaper, a timer, and the relay calls every
 * reconnected listener in one synchronous pass, so no reap can run between this listener and
 * theirs, whichever comes first.
 */
@Injectable()
export class ClusterMembership implements OnModuleInit, OnApplicationShutdown {
  readonly instance = randomUUID();
  private readonly logger = new Logger(ClusterMembership.name);
  private readonly lastHeard = new Map<string, number>();
  /** The last heartbeat of each live instance: its replica name and stats (for the console). */
  private readonly peers = new Map<string, { replica: string; stats?: ReplicaStats; at: number }>();
  private readonly goneListeners: Array<(instance: string) => void> = [];
  private rooms: () => number = () => 0;
  private resync: () => void = () => undefined;
  private timer?: NodeJS.Timeout;
  private reaper?: NodeJS.Timeout;
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    private readonly relay: Relay,
    private readonly publisher: ClusterPublisher,
    private readonly stats: ReplicaStatsReader,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribes.push(
      this.relay.subscribe(ClusterSubject.heartbeat, (m) => this.onHeartbeat(m.data)),
      this.relay.onReconnected(() => this.refreshAll()),
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
    await this.publisher.send(ClusterSubject.heartbeat, { t: 'bye', i: this.instance });
    for (const off of this.unsubscribes) off();
  }

  /** Calls `listener` with each instance that died or said goodbye. */
  onGone(listener: (instance: string) => void): void {
    this.goneListeners.push(listener);
  }

  /**
   * `rooms` counts the rooms this instance has members in (sent with each heartbeat); `resync`
   * publishes a snapshot of each, when an instance that had lost sight of this one asks.
   */
  trackRooms(rooms: () => number, resync: () => void): void {
    this.rooms = rooms;
    this.resync = resync;
  }

  /** Every live instance, this one first, with what it last reported. */
  async members(): Promise<ClusterMember[]> {
    const own: ClusterMember = {
      instance: this.instance,
      replica: this.config.replicaId,
      self: true,
      stats: await this.stats.read(),
      at: Date.now(),
    };
    const others = [...this.peers].map(([instance, peer]) => ({ instance, self: false, ...peer }));
    return [own, ...others];
  }

  /** The other live instances (those a look-up waits for). */
  others(): string[] {
    return [...this.lastHeard.keys()];
  }

  /** Notes that `instance` is alive (any message from it counts). */
  heard(instance: string): void {
    if (instance !== this.instance) this.lastHeard.set(instance, Date.now());
  }

  /**
   * Nobody can be heard while the broker is away, so nobody is declared dead meanwhile; when it
   * is back, everyone gets a fresh window (a replica that really died is dropped three beats later).
   */
  private refreshAll(): void {
    const now = Date.now();
    for (const instance of this.lastHeard.keys()) this.lastHeard.set(instance, now);
  }

  private beat(): void {
    void this.stats
      .read()
      .catch(() => undefined)
      .then((s) =>
        this.publisher.send(ClusterSubject.heartbeat, {
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
    this.logger.log({ instance, reason, msg: 'cluster: replica dropped' });
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
        void this.publisher.send(ClusterSubject.heartbeat, {
          t: 'resync',
          i: this.instance,
          to: message.i,
        });
      }
    }
  }
}
