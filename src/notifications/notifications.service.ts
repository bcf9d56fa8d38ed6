import { Injectable } from '@nestjs/common';
import {
  ChannelsService,
  idempotentIds,
  type JoinOptions,
  type ChannelPosition,
  type Published,
} from '@app/channels';
import { AppError } from '@app/core';
import type { NotificationsSubscribeReply, NotificationsUnsubscribeReply } from '@app/protocol';
import { WsMetrics, limitExceeded, type Connection } from '@app/ws';
import { AppConfig } from '../config';
import type { NotificationsSubscribeDto } from './dto/notifications-subscribe.dto';
import type { NotificationsUnsubscribeDto } from './dto/notifications-unsubscribe.dto';
import type { PushNotificationDto } from './dto/push-notification.dto';
import {
  NotificationsEvent,
  isStreamChannel,
  kindOf,
  streamChannel,
} from './notifications.subjects';

export interface PushOptions {
  /** The same key from the same caller within 5 minutes returns the first result, delivered once. */
  idempotencyKey?: string;
  /** Who pushes (the token's subject): idempotency keys are per caller. */
  caller?: string;
}

/** Public and per-user private notification streams on top of `@app/channels`. */
@Injectable()
export class NotificationsService {
  constructor(
    private readonly channels: ChannelsService,
    private readonly config: AppConfig,
    private readonly metrics: WsMetrics,
  ) {}

  async subscribe(
    conn: Connection,
    { streams, since, epoch }: NotificationsSubscribeDto,
  ): Promise<NotificationsSubscribeReply> {
    const unique = [...new Set(streams)];
    const strays = Object.keys(since ?? {}).filter((s) => !unique.includes(s));
    if (strays.length > 0) {
      throw new AppError(
        'bad_request',
        `since names streams not in streams: ${strays.join(', ')}`,
        [{ field: 'since', message: `not in streams: ${strays.join(', ')}` }],
      );
    }
    const channels = unique.map((stream) => this.channelFor(conn, stream));
    this.assertStreamsUnder(conn, channels);
    const results = await this.joinAll(conn, channels, (i) => ({
      since: since?.[unique[i]!],
      epoch,
    }));
    return {
      streams: unique,
      epoch: results[0]!.epoch,
      recovered: results.every((r) => r.recovered),
      recoveredStreams: Object.fromEntries(
        unique.map((stream, i) => [stream, results[i]!.recovered]),
      ),
      seqs: Object.fromEntries(unique.map((stream, i) => [stream, results[i]!.seq])),
    };
  }

  unsubscribe(
    conn: Connection,
    { streams }: NotificationsUnsubscribeDto,
  ): NotificationsUnsubscribeReply {
    const left = streams.filter((stream) =>
      this.channels.leave(conn, this.channelFor(conn, stream)),
    );
    return { streams: left };
  }

  /** Stores and relays one notification; resolves once stored, with its id and seq. */
  push(
    { stream, userId, payload }: PushNotificationDto,
    options: PushOptions = {},
  ): Promise<Published> {
    const keyed =
      options.idempotencyKey === undefined
        ? {}
        : idempotentIds([options.caller ?? ''], options.idempotencyKey);
    return this.channels.publish(
      streamChannel(stream, userId),
      NotificationsEvent.Notification,
      { stream, payload },
      keyed,
    );
  }

  /** Past the limit, none of the request's streams is added (subscribes in progress count). */
  private assertStreamsUnder(conn: Connection, channels: string[]): void {
    const max = this.config.limits.maxStreams;
    let held = 0;
    for (const channel of this.channels.channelsOf(conn)) if (isStreamChannel(channel)) held++;
    const added = channels.filter((channel) => !this.channels.isMember(conn, channel)).length;
    if (held + added > max) {
      throw limitExceeded(this.metrics, 'WS_MAX_STREAMS', max, 'too many notification streams');
    }
  }

  /**
   * Joins every channel or none: a client told that its subscribe failed must not be left with
   * some of the streams (the ones it already had stay).
   */
  private async joinAll(
    conn: Connection,
    channels: string[],
    options: (i: number) => JoinOptions,
  ): Promise<ChannelPosition[]> {
    const had = channels.map((channel) => this.channels.isMember(conn, channel));
    const settled = await Promise.allSettled(
      channels.map((channel, i) => this.channels.join(conn, channel, options(i))),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      channels.forEach((channel, i) => {
        if (!had[i]) this.channels.leave(conn, channel);
      });
      throw failed.reason;
    }
    return settled.map((r) => (r as PromiseFulfilledResult<ChannelPosition>).value);
  }

  /** A private stream is always the connected user's own, whatever the client sends. */
  private channelFor(conn: Connection, stream: string): string {
    if (kindOf(stream) === 'private' && !conn.userId) {
      throw new AppError('unauthorized', 'private streams need a signed-in connection');
    }
    return streamChannel(stream, conn.userId ?? undefined);
  }
}
