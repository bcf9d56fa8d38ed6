import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Principal } from '@app/core';
import { CurrentUser, Scope, Scopes, ScopesGuard } from '../auth';
import { ChatService } from '../chat/chat.service';
import { HISTORY_DEFAULT_LIMIT } from '../chat/dto/chat-history.dto';
import { RoomHistory } from '../chat/room-history.service';
import { ApiIdempotencyKey, IdempotencyKey } from '../http/idempotency-key';
import { ApiErrors } from '../http/openapi/api-errors.decorator';
import { PublishedDto } from '../http/openapi/published.dto';
import { RoomMessageDto } from './dto/room-message.dto';
import { RoomMessagesQueryDto } from './dto/room-messages-query.dto';
import { RoomParamDto } from './dto/room-param.dto';
import { ChatHistoryReplyDto } from './dto/rooms-replies.dto';

/** The server API for other services: post into a room, read its history (service tokens). */
@ApiTags('rooms')
@ApiBearerAuth()
@Controller('rooms')
@UseGuards(ScopesGuard)
export class RoomsController {
  constructor(
    private readonly chat: ChatService,
    private readonly history: RoomHistory,
  ) {}

  @Post(':room/messages')
  @HttpCode(202)
  @Scopes(Scope.ChatPublish)
  @ApiOperation({
    summary: 'Post a message into a room as the calling service',
    description:
      'Members on every replica get `chat.message` with `from` = the token’s `sub`. Answers once ' +
      'stored. Needs the `chat:publish` scope.',
  })
  @ApiIdempotencyKey()
  @ApiAcceptedResponse({ description: 'Stored and relayed', type: PublishedDto })
  @ApiErrors(400, 401, 403, 413, 429, 503)
  post(
    @Param() { room }: RoomParamDto,
    @Body() { body }: RoomMessageDto,
    @CurrentUser() caller: Principal,
    @IdempotencyKey() key?: string,
  ): Promise<PublishedDto> {
    return this.chat.post(caller.id, room, body, key);
  }

  @Get(':room/messages')
  @Scopes(Scope.HistoryRead)
  @ApiOperation({
    summary: 'A page of a room’s history, the newest last',
    description:
      'The messages with seq < `before` (or the newest), as `chat.history` answers. Needs the ' +
      '`history:read` scope.',
  })
  @ApiOkResponse({ description: 'A page of the room’s history', type: ChatHistoryReplyDto })
  @ApiErrors(400, 401, 403, 429, 503)
  page(
    @Param() { room }: RoomParamDto,
    @Query() { before, limit }: RoomMessagesQueryDto,
  ): Promise<ChatHistoryReplyDto> {
    return this.history.page(room, before, limit ?? HISTORY_DEFAULT_LIMIT);
  }
}
