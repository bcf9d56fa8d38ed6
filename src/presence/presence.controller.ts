import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@app/core';
import { CurrentUser, RoomAccess, Scope, Scopes, ScopesGuard } from '../auth';
import { ApiErrors } from '../http/openapi/api-errors.decorator';
import { PresenceRoomParamDto, PresenceUserParamDto } from './dto/presence-params.dto';
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
  @ApiOkResponse({ type: UserPresenceDto })
  async user(@Param() { userId }: PresenceUserParamDto): Promise<UserPresenceDto | undefined> {
    const [presence] = await this.presence.users([userId]);
    return presence;
  }

  @Get('rooms/:room')
  @ApiOperation({
    summary: 'The users in a room across the cluster',
    description:
      'A service token with `presence:read`, or a user token of someone who may join the room.',
  })
  @ApiOkResponse({ type: RoomPresenceDto })
  async room(
    @Param() { room }: PresenceRoomParamDto,
    @CurrentUser() caller: Principal,
  ): Promise<RoomPresenceDto> {
    if (!caller.scopes.includes(Scope.PresenceRead)) await this.access.assertCanJoin(caller, room);
    return { room, users: await this.presence.roomUsers(room) };
  }
}
