import { UseGuards } from '@nestjs/common';
import { MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { AppError } from '@app/core';
import { SignedInGuard, WsGateway } from '@app/ws';
import { PresenceQueryDto } from './dto/presence-query.dto';
import { PresenceEvent } from './presence.subjects';
import { PresenceService } from './presence.service';

@WsGateway()
@UseGuards(SignedInGuard)
export class PresenceGateway {
  constructor(private readonly presence: PresenceService) {}

  @SubscribeMessage(PresenceEvent.Query)
  async query(@MessageBody() { room, users }: PresenceQueryDto) {
    if (room !== undefined && users !== undefined) {
      throw new AppError('bad_request', 'ask for a room or for users, not both');
    }
    if (room !== undefined) return { room, users: await this.presence.roomUsers(room) };
    const online = await this.presence.users(users ?? []);
    return { online: Object.fromEntries(online.map((u) => [u.userId, u.online])) };
  }
}
