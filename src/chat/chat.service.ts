import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ChannelsService, idempotentIds, type JoinResult, type Published } from '@app/channels';
import { AppError } from '@app/core';
import { WsHub, limitExceeded, type Connection } from '@app/ws';
import { AppConfig } from '../config';
import { PresenceService } from '../presence/presence.service';
import { ChatEvent, inboxChannel, isRoomChannel, roomChannel } from './chat.subjects';
import type { ChatDirectDto } from './dto/chat-direct.dto';
import type { ChatInboxDto } from './dto/chat-inbox.dto';
import type { ChatJoinDto } from './dto/chat-join.dto';
import type { ChatLeaveDto } from './dto/chat-leave.dto';
import type { ChatSendDto } from './dto/chat-send.dto';

/** Rooms and direct messages: the chat rules on top of `@app/channels`. */
@Injectable()
export class ChatService implements OnModuleInit {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    private readonly channels: ChannelsService,
    private readonly presence: PresenceService,
    private readonly hub: WsHub,
    private readonly config: AppConfig,
  ) {}

  /** The hub waits for the inbox to be live before it welcomes a connection. */
  onModuleInit(): void {
    this.hub.onConnect((conn) => this.followInbox(conn));
  }

  async join(
    conn: Connection,
    { room, since, epoch }: ChatJoinDto,
  ): Promise<{ room: string } & JoinResult> {
    const channel = roomChannel(room);
    if (!this.channels.isMember(conn, channel)) this.assertRoomsUnder(conn);
    const joined = await this.channels.join(conn, channel, { since, epoch });
    // A connection that closed while joining must not be counted present.
    if (conn.isOpen) this.presence.enter(conn, room);
    return { room, ...joined };
  }

  /** Joins in progress count: the channels register a member before they read any history. */
  private assertRoomsUnder(conn: Connection): void {
    const max = this.config.limits.maxRooms;
    let rooms = 0;
    for (const channel of this.channels.channelsOf(conn)) if (isRoomChannel(channel)) rooms++;
    if (rooms >= max) {
      throw limitExceeded(this.hub.metrics, 'WS_MAX_ROOMS', max, 'too many rooms joined');
    }
  }

  leave(conn: Connection, { room }: ChatLeaveDto): { room: string; left: boolean } {
    this.presence.exit(conn, room);
    return { room, left: this.channels.leave(conn, roomChannel(room)) };
  }

  async send(conn: Connection, { room, body, key }: ChatSendDto): Promise<Published> {
    const channel = roomChannel(room);
    if (!(await this.channels.isJoined(conn, channel))) {
      throw new AppError('forbidden', `join room "${room}" before sending to it`);
    }
    const keyed = key === undefined ? {} : idempotentIds([requireUser(conn), channel], key);
    return this.channels.publish(
      channel,
      ChatEvent.Message,
      { room, from: conn.userId, body },
      keyed,
    );
  }

  /**
   * Stored in the recipient's inbox and in the sender's (for their other connections), under one id.
   * The reply's seq is the recipient's.
   */
  async direct(conn: Connection, { to, body, key }: ChatDirectDto): Promise<Published> {
    const from = requireUser(conn);
    const data = { from, to, body };
    // One id in both inboxes. With a key, each copy has its own dedupe key (msgID is stream-wide),
    // scoped by sender, recipient and inbox: one key reused for another recipient stays distinct.
    const publishTo = (channel: string, id: string) =>
      this.channels.publish(channel, ChatEvent.Direct, data, {
        origin: conn,
        ...(key === undefined
          ? { id }
          : { id, msgID: idempotentIds([from, to, channel], key).msgID }),
      });
    const id = key === undefined ? randomUUID() : idempotentIds([from, to], key).id;
    const toRecipient = publishTo(inboxChannel(to), id);
    const toSender = to === from ? undefined : publishTo(inboxChannel(from), id);
    const [published] = await Promise.all([toRecipient, toSender]);
    return published;
  }

  inbox(conn: Connection, { since, epoch }: ChatInboxDto): Promise<JoinResult> {
    return this.channels.join(conn, inboxChannel(requireUser(conn)), { since, epoch });
  }

  /** Every signed-in connection receives its user's direct messages live from its welcome on. */
  private followInbox(conn: Connection): Promise<void> | undefined {
    if (!conn.userId) return undefined;
    return this.channels.follow(conn, inboxChannel(conn.userId)).catch((error: unknown) =>
      this.logger.warn({
        connectionId: conn.id,
        err: (error as Error).message,
        msg: 'inbox subscribe failed',
      }),
    );
  }
}

function requireUser(conn: Connection): string {
  if (!conn.userId) throw new AppError('unauthorized', 'this event needs a signed-in connection');
  return conn.userId;
}
