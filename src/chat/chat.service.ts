import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ChannelsService, idempotentIds } from '@app/channels';
import { AppError, type Principal } from '@app/core';
import type {
  Body,
  ChatHistoryReply,
  ChatInboxReply,
  ChatJoinReply,
  ChatLeaveReply,
  Published,
} from '@app/protocol';
import { WsHub, limitExceeded, type Connection } from '@app/ws';
import { RoomAccess } from '../auth';
import { AppConfig } from '../config';
import { PresenceService } from '../presence/presence.service';
import { ChatEvent, inboxChannel, isRoomChannel, roomChannel } from './chat.subjects';
import { HISTORY_DEFAULT_LIMIT, type ChatHistoryDto } from './dto/chat-history.dto';
import { RoomHistory } from './room-history.service';
import type { ChatDirectDto } from './dto/chat-direct.dto';
import type { ChatInboxDto } from './dto/chat-inbox.dto';
import type { ChatJoinDto } from './dto/chat-join.dto';
import type { ChatLeaveDto } from './dto/chat-leave.dto';
import type { ChatSendDto } from './dto/chat-send.dto';

/** Rooms and direct messages: the chat rules on top of `@app/channels`. */
@Injectable()
export class ChatService implements OnModuleInit {
  private readonly logger = new Logger(ChatService.name);
  /** The rooms each connection joined, to re-check when its token is refreshed. */
  private readonly rooms = new WeakMap<Connection, Set<string>>();
  /**
   * Joins in progress (the room check may be async): a send or history request right behind a
   * join, without waiting for its reply, waits for it instead of being refused.
   */
  private readonly joining = new WeakMap<Connection, Map<string, Promise<unknown>>>();

  constructor(
    private readonly channels: ChannelsService,
    private readonly presence: PresenceService,
    private readonly hub: WsHub,
    private readonly access: RoomAccess,
    private readonly roomHistory: RoomHistory,
    private readonly config: AppConfig,
  ) {}

  /** The hub waits for the inbox to be live before it welcomes a connection. */
  onModuleInit(): void {
    this.hub.onConnect((conn) => this.followInbox(conn));
    this.hub.onRefresh((conn) => this.recheckRooms(conn));
  }

  join(conn: Connection, dto: ChatJoinDto): Promise<ChatJoinReply> {
    let pending = this.joining.get(conn);
    if (!pending) {
      pending = new Map();
      this.joining.set(conn, pending);
    }
    const joins = pending;
    const task = this.joinRoom(conn, dto);
    const settled = task.catch(() => undefined);
    joins.set(dto.room, settled);
    void settled.then(() => {
      if (joins.get(dto.room) === settled) joins.delete(dto.room);
    });
    return task;
  }

  private async joinRoom(
    conn: Connection,
    { room, since, epoch }: ChatJoinDto,
  ): Promise<ChatJoinReply> {
    const user = requirePrincipal(conn);
    const channel = roomChannel(room);
    if (!this.channels.isMember(conn, channel)) this.assertRoomsUnder(conn);
    await this.access.assertCanJoin(user, room);
    const joined = await this.channels.join(conn, channel, { since, epoch });
    // A token refreshed meanwhile was re-checked without this room: check it with the new rights.
    if (conn.user !== user && conn.user && !(await this.access.canJoin(conn.user, room))) {
      this.channels.leave(conn, channel);
      throw new AppError('forbidden', `not allowed in room "${room}"`);
    }
    // A connection that closed while joining must not be counted present.
    if (conn.isOpen) {
      this.presence.enter(conn, room);
      this.roomsOf(conn).add(room);
    }
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

  leave(conn: Connection, { room }: ChatLeaveDto): ChatLeaveReply {
    this.presence.exit(conn, room);
    this.rooms.get(conn)?.delete(room);
    return { room, left: this.channels.leave(conn, roomChannel(room)) };
  }

  async send(conn: Connection, { room, body, key }: ChatSendDto): Promise<Published> {
    if (!(await this.isMember(conn, room))) {
      throw new AppError('forbidden', `join room "${room}" before sending to it`);
    }
    return this.post(requireUser(conn), room, body, key);
  }

  /**
   * Posts into a room as `from` (a service, through the server API): members get `chat.message`.
   * `key` dedupes repeats within 5 minutes, per sender and room, as `chat.send` does.
   */
  post(from: string, room: string, body: Body, key?: string): Promise<Published> {
    const channel = roomChannel(room);
    const keyed = key === undefined ? {} : idempotentIds([from, channel], key);
    return this.channels.publish(channel, ChatEvent.Message, { room, from, body }, keyed);
  }

  /** A page of older messages, for members only. */
  async history(
    conn: Connection,
    { room, before, limit }: ChatHistoryDto,
  ): Promise<ChatHistoryReply> {
    if (!(await this.isMember(conn, room))) {
      throw new AppError('forbidden', `join room "${room}" before reading its history`);
    }
    return this.roomHistory.page(room, before, limit ?? HISTORY_DEFAULT_LIMIT);
  }

  /**
   * Stored in the recipient's inbox and in the sender's (for their other connections), under one id,
   * both or neither refused when the replica is overloaded. The reply's seq is the recipient's.
   */
  async direct(conn: Connection, { to, body, key }: ChatDirectDto): Promise<Published> {
    const from = requireUser(conn);
    // One id in both inboxes. With a key, each copy has its own dedupe key (msgID is stream-wide),
    // scoped by sender, recipient and inbox: one key reused for another recipient stays distinct.
    const target = (channel: string) => ({
      channel,
      ...(key !== undefined && { msgID: idempotentIds([from, to, channel], key).msgID }),
    });
    const id = key === undefined ? randomUUID() : idempotentIds([from, to], key).id;
    const inboxes = [inboxChannel(to), ...(to === from ? [] : [inboxChannel(from)])];
    const [published] = await this.channels.publishAll(
      inboxes.map(target),
      ChatEvent.Direct,
      { from, to, body },
      { origin: conn, id },
    );
    return published!;
  }

  inbox(conn: Connection, { since, epoch }: ChatInboxDto): Promise<ChatInboxReply> {
    return this.channels.join(conn, inboxChannel(requireUser(conn)), { since, epoch });
  }

  /** Whether `conn` is in `room` once its join of it in progress, if any, has settled. */
  private async isMember(conn: Connection, room: string): Promise<boolean> {
    await this.joining.get(conn)?.get(room);
    return this.channels.isJoined(conn, roomChannel(room));
  }

  /** After `auth.refresh`: rooms the new token no longer covers are left at once. */
  private async recheckRooms(conn: Connection): Promise<void> {
    const user = conn.user;
    const rooms = this.rooms.get(conn);
    if (!user || !rooms) return;
    await Promise.all(
      [...rooms].map(async (room) => {
        if (await this.access.canJoin(user, room)) return;
        this.leave(conn, { room });
        conn.send(ChatEvent.Removed, { room, reason: 'permission_revoked' });
      }),
    );
  }

  private roomsOf(conn: Connection): Set<string> {
    let rooms = this.rooms.get(conn);
    if (!rooms) {
      rooms = new Set();
      this.rooms.set(conn, rooms);
    }
    return rooms;
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

function requirePrincipal(conn: Connection): Principal {
  if (!conn.user) throw new AppError('unauthorized', 'this event needs a signed-in connection');
  return conn.user;
}

function requireUser(conn: Connection): string {
  if (!conn.userId) throw new AppError('unauthorized', 'this event needs a signed-in connection');
  return conn.userId;
}
