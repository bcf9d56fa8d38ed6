import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CHANNEL_NAME } from '@app/channels';
import { AppError, type Principal } from '@app/core';
import { CurrentUser, RoomAccess, Scope, Scopes, ScopesGuard } from '../auth';
import { PresenceService } from './presence.service';

@ApiTags('presence')
@ApiBearerAuth()
@Controller('presence')
@UseGuards(ScopesGuard)
@ApiResponse({ status: 401, description: 'No token, or a bad or expired one' })
export class PresenceController {
  constructor(
    private readonly presence: PresenceService,
    private readonly access: RoomAccess,
  ) {}

  @Get('users/:userId')
  @Scopes(Scope.PresenceRead)
  @ApiResponse({ status: 403, description: 'The token lacks `presence:read`' })
  @ApiOperation({
    summary: 'Whether a user is connected anywhere in the cluster, and how many times',
  })
  @ApiParam({ name: 'userId', example: 'alice' })
  @ApiResponse({
    status: 200,
    schema: { example: { userId: 'alice', online: true, connections: 2 } },
  })
  async user(@Param('userId') userId: string) {
    if (userId.length > 256) throw new AppError('bad_request', 'userId is at most 256 characters');
    const [presence] = await this.presence.users([userId]);
    return presence;
  }

  @Get('rooms/:room')
  @ApiOperation({
    summary: 'The users in a room across the cluster',
    description:
      'A service token with `presence:read`, or a user token of someone who may join the room.',
  })
  @ApiParam({ name: 'room', example: 'lobby' })
  @ApiResponse({ status: 200, schema: { example: { room: 'lobby', users: ['alice', 'bob'] } } })
  @ApiResponse({
    status: 403,
    description: 'Neither `presence:read` nor the right to join the room',
  })
  async room(@Param('room') room: string, @CurrentUser() caller: Principal) {
    if (!CHANNEL_NAME.test(room)) {
      throw new AppError('bad_request', 'room must be 1-128 of A-Za-z0-9._:-', [
        { field: 'room', message: 'must be 1-128 of A-Za-z0-9._:-' },
      ]);
    }
    if (!caller.scopes.includes(Scope.PresenceRead)) await this.access.assertCanJoin(caller, room);
    return { room, users: await this.presence.roomUsers(room) };
  }
}
