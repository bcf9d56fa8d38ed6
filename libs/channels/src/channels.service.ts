import { Inject, Injectable, Optional } from '@nestjs/common';
import { HistoryStore } from '@app/history';
import type { Published, StoredData, StoredEvent } from '@app/protocol';
import { Relay } from '@app/relay';
import { WsMetrics, type Connection, type ServerEvents } from '@app/ws';
import { Registry } from 'prom-client';
import { BrokerGuard } from './broker-guard';
import { ChannelJoins, type ChannelPosition, type JoinOptions } from './channel-joins';
import { ChannelPublisher, type PublishOptions, type PublishTarget } from './channel-publisher';
import { ChannelRegistry } from './channel-registry';
import { ChannelsMetrics } from './channels-metrics';
import {
  CHANNELS_OPTIONS,
  type ChannelsOptions,
  DEFAULT_PUBLISH_MAX_INFLIGHT,
} from './channels-options';
import { FrameDelivery } from './frame-delivery';
import { LiveReceiver } from './live-receiver';
import { PublishAdmission } from './publish-admission';

export { ORIGIN_HEADER } from './channel';
export type { ChannelPosition, JoinOptions } from './channel-joins';
export type { PublishOptions, PublishTarget } from './channel-publisher';
/** What a publish stored: the wire's `Published`. */
export type { Published } from '@app/protocol';

/**
 * Channel → local connections, for every module: the one way frames reach sockets. Its parts:
 * `ChannelRegistry` (who is where, broker subscriptions), `ChannelPublisher` (store and relay),
 * `LiveReceiver` (live messages in order, gaps filled from history), `ChannelJoins` (join and
 * resume) and `FrameDelivery` (each message framed once, the same bytes to every member).
 */
@Injectable()
export class ChannelsService {
  private readonly registry: ChannelRegistry;
  private readonly publisher: ChannelPublisher;
  private readonly joins: ChannelJoins;
  private readonly delivery: FrameDelivery;
  private readonly live: LiveReceiver;
  private readonly metrics: ChannelsMetrics;

  /** `registry` and `ws` come from the app's metrics; without them, metrics stay private. */
  constructor(
    relay: Relay,
    history: HistoryStore,
    @Optional() registry?: Registry,
    @Optional() ws?: WsMetrics,
    @Optional() @Inject(CHANNELS_OPTIONS) options?: ChannelsOptions,
  ) {
    const broker = new BrokerGuard(relay);
    const admission = new PublishAdmission(
      options?.publishMaxInflight ?? DEFAULT_PUBLISH_MAX_INFLIGHT,
      () => this.metrics.publishRefused.inc(),
    );
    this.registry = new ChannelRegistry(relay, (ch, message) => this.live.receive(ch, message));
    this.metrics = new ChannelsMetrics(this.registry, admission, registry, ws);
    this.delivery = new FrameDelivery(this.metrics);
    this.live = new LiveReceiver(history, this.delivery);
    this.joins = new ChannelJoins(this.registry, this.delivery, history, broker, this.metrics);
    this.publisher = new ChannelPublisher(history, broker, admission, this.metrics);
    // Core messages published while this replica was away from the broker are lost to it.
    relay.onReconnected(() => {
      for (const ch of this.registry.values()) void this.live.catchUp(ch);
    });
  }

  /**
   * Adds `conn` to `channel`. With `since`, replays what it missed first, holding live messages
   * meanwhile, so that each message arrives once and in order. Joining again re-runs the resume.
   */
  join(conn: Connection, channel: string, options: JoinOptions = {}): Promise<ChannelPosition> {
    return this.joins.join(conn, channel, options);
  }

  /**
   * Adds `conn` to `channel` for live messages only, without reading history: cheap enough to run
   * for every connection at connect time (a user's inbox). A later `join` with `since` resumes.
   */
  follow(conn: Connection, channel: string): Promise<void> {
    return this.registry.follow(conn, channel);
  }

  leave(conn: Connection, channel: string): boolean {
    return this.registry.leave(conn, channel);
  }

  isMember(conn: Connection, channel: string): boolean {
    return this.registry.isMember(conn, channel);
  }

  /**
   * Whether `conn` is a member once its join in progress, if any, has settled. A publish that
   * waits for it gets a seq above the join's starting point, so a client that sends right after
   * joining, without waiting for the reply, still receives its own message.
   */
  async isJoined(conn: Connection, channel: string): Promise<boolean> {
    await this.registry.get(channel)?.members.get(conn)?.busy;
    return this.isMember(conn, channel);
  }

  /** The channels `conn` is in or joining (for per-connection limits). */
  channelsOf(conn: Connection): ReadonlySet<string> {
    return this.registry.channelsOf(conn);
  }

  get channelCount(): number {
    return this.registry.size;
  }

  /**
   * Stores the message in the channel's history and relays it to every member on every replica.
   * Resolves once stored, with its id and seq. `origin` is not sent its own message; `id` lets one
   * message stored in several channels keep one id (clients dedupe by it); `msgID` dedupes
   * repeats within the history's duplicate window (the first message's seq is returned).
   * Past the replica's appends in flight it rejects at once with `overloaded`: nothing stored.
   */
  publish<E extends StoredEvent>(
    channel: string,
    event: E,
    data: StoredData<E>,
    options: PublishOptions & { msgID?: string } = {},
  ): Promise<Published> {
    return this.publisher.publish(channel, event, data, options);
  }

  /**
   * One message stored in several channels under one id (a direct message in both inboxes),
   * admitted as a whole: refused with `overloaded` in every channel or in none. Resolves with what
   * each channel stored, in the order of `targets`.
   */
  publishAll<E extends StoredEvent>(
    targets: readonly PublishTarget[],
    event: E,
    data: StoredData<E>,
    options: PublishOptions = {},
  ): Promise<Published[]> {
    return this.publisher.publishAll(targets, event, data, options);
  }

  /**
   * Writes one frame to this replica's local members of `channel`, nothing stored (presence
   * changes); returns how many got it. Members still joining get it too: it has no seq to hold it by.
   */
  sendEphemeral<E extends keyof ServerEvents>(
    channel: string,
    event: E,
    data: ServerEvents[E],
  ): number {
    return this.delivery.sendEphemeral(this.registry.get(channel), event, data);
  }
}
