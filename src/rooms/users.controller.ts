import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Scope, Scopes, ScopesGuard } from '../auth';
import { UserDisconnect } from '../connection/user-disconnect.service';
import { ApiErrors } from '../http/openapi/api-errors.decorator';
import { UserDisconnectDto } from './dto/user-disconnect.dto';
import { UserParamDto } from './dto/user-param.dto';
import { DisconnectReplyDto } from './dto/rooms-replies.dto';
import { DEFAULT_DISCONNECT_REASON } from './rooms.subjects';

/** The server API for other services: end a user's sessions (a ban, a logout elsewhere). */
@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
@UseGuards(ScopesGuard)
export class UsersController {
  constructor(private readonly sessions: UserDisconnect) {}

  @Post(':userId/disconnect')
  @HttpCode(200)
  @Scopes(Scope.ConnectionsManage)
  @ApiOperation({
    summary: 'Close every connection of a user, on every replica',
    description:
      'Each is closed with code 4003 and the reason; clients do not reconnect on their own. ' +
      'Needs the `connections:manage` scope.',
  })
  @ApiBody({ type: UserDisconnectDto, required: false })
  @ApiOkResponse({ description: 'How many connections were closed', type: DisconnectReplyDto })
  @ApiErrors(400, 401, 403, 429, 503)
  disconnect(
    @Param() { userId }: UserParamDto,
    @Body() { reason }: UserDisconnectDto,
  ): Promise<DisconnectReplyDto> {
    return this.sessions.disconnect(userId, reason ?? DEFAULT_DISCONNECT_REASON);
  }
}
