import { UseGuards } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { AppError } from '@app/core';
import { type Connection, SignedInGuard, WsGateway } from '@app/ws';
import { RoomAccess } from '../auth';
import { PresenceQueryDto } from './dto/presence-query.dto';
import { PresenceEvent } from './presence.subjects';
import { PresenceService } from './presence.service';

@WsGateway()
@UseGuards(SignedInGuard)
export class PresenceGateway {
  constructor(
    private readonly presence: PresenceService,
    private readonly access: RoomAccess,
  ) {}

  /** A room's members are shown only to users who may join it (SignedInGuard: there is a user). */
  @SubscribeMessage(PresenceEvent.Query)
  async query(
    @ConnectedSocket() conn: Connection,
    @MessageBody() { room, users }: PresenceQueryDto,
  ) {
    if (room !== undefined && users !== undefined) {
      throw new AppError('bad_request', 'ask for a room or for users, not both');
    }
    if (room !== undefined) {
      await this.access.assertCanJoin(conn.user!, room);
      return { room, users: await this.presence.roomUsers(room) };
    }
    const online = await this.presence.users(users ?? []);
    return { online: Object.fromEntries(online.map((u) => [u.userId, u.online])) };
  }
}
