import { Body, Controller, Headers, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AppError, type Principal } from '@app/core';
import { CurrentUser, Scope, Scopes, ScopesGuard } from '../auth';
import { PushNotificationDto } from './dto/push-notification.dto';
import { NotificationsService } from './notifications.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('notifications')
@UseGuards(ScopesGuard)
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Post()
  @HttpCode(202)
  @Scopes(Scope.NotificationsPublish)
  @ApiOperation({
    summary: 'Push a notification to a public stream or to one user’s private stream',
    description:
      'Answers once the notification is stored in history and relayed to every replica. Needs a service token with the `notifications:publish` scope.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeating a key within 5 minutes returns the first {id, seq} and delivers once',
  })
  @ApiAcceptedResponse({
    description: 'Stored and relayed',
    schema: { example: { id: '7d0c…', seq: 42 } },
  })
  @ApiResponse({ status: 400, description: 'Invalid body: `fields` names each field at fault' })
  @ApiResponse({ status: 401, description: 'No token, or a bad or expired one' })
  @ApiResponse({ status: 403, description: 'The token lacks `notifications:publish`' })
  @ApiResponse({ status: 413, description: 'The body is over the size limit' })
  @ApiResponse({ status: 503, description: 'The broker is unreachable: retry later' })
  push(
    @Body() dto: PushNotificationDto,
    @CurrentUser() caller: Principal,
    @Headers('idempotency-key') idempotencyKey?: string,
  ) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError(
        'bad_request',
        'Idempotency-Key must be 1-255 printable ASCII characters',
        [{ field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }],
      );
    }
    return this.notifications.push(dto, { idempotencyKey, caller: caller.id });
  }
}
