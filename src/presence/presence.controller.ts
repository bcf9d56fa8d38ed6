import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CHANNEL_NAME } from '@app/channels';
import { AppError, type Principal } from '@app/core';
import { CurrentUser, RoomAccess, Scope, Scopes, ScopesGuard } from '../auth';
import { ApiErrors } from '../http/openapi/api-errors.decorator';
import { RoomPresenceDto, UserPresenceDto } from './dto/presence-replies.dto';
import { PresenceService } from './presence.service';

@ApiTags('presence')
@ApiBearerAuth()
@Controller('presence')
@UseGuards(ScopesGuard)
@ApiErrors(400, 401, 403, 503)
export class PresenceController {
  constructor(
    private readonly presence: PresenceService,
    private readonly access: RoomAccess,
  ) {}

  @Get('users/:userId')
  @Scopes(Scope.PresenceRead)
  @ApiOperation({
    summary: 'Whether a user is connected anywhere in the cluster, and how many times',
  })
  @ApiParam({ name: 'userId', example: 'alice' })
  @ApiOkResponse({ type: UserPresenceDto })
  async user(@Param('userId') userId: string): Promise<UserPresenceDto | undefined> {
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
  @ApiOkResponse({ type: RoomPresenceDto })
  async room(
    @Param('room') room: string,
    @CurrentUser() caller: Principal,
  ): Promise<RoomPresenceDto> {
    if (!CHANNEL_NAME.test(room)) {
      throw new AppError('bad_request', 'room must be 1-128 of A-Za-z0-9._:-', [
        { field: 'room', message: 'must be 1-128 of A-Za-z0-9._:-' },
      ]);
    }
    if (!caller.scopes.includes(Scope.PresenceRead)) await this.access.assertCanJoin(caller, room);
    return { room, users: await this.presence.roomUsers(room) };
  }
}
