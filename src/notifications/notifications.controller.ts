import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Principal } from '@app/core';
import { CurrentUser, Scope, Scopes, ScopesGuard } from '../auth';
import { ApiIdempotencyKey, IdempotencyKey } from '../http/idempotency-key';
import { ApiErrors } from '../http/openapi/api-errors.decorator';
import { PublishedDto } from '../http/openapi/published.dto';
import { PushNotificationDto } from './dto/push-notification.dto';
import { NotificationsService } from './notifications.service';

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
  @ApiIdempotencyKey()
  @ApiBody({
    type: PushNotificationDto,
    examples: {
      public: {
        summary: 'To everyone subscribed to a public stream',
        value: { stream: 'public.news', payload: { title: 'Release 2.1 is out' } },
      },
      private: {
        summary: 'To one user’s private stream',
        value: {
          stream: 'private.orders',
          userId: 'alice',
          payload: { title: 'Order shipped', orderId: 42 },
        },
      },
    },
  })
  @ApiAcceptedResponse({ description: 'Stored and relayed', type: PublishedDto })
  @ApiErrors(400, 401, 403, 413, 429, 503)
  push(
    @Body() dto: PushNotificationDto,
    @CurrentUser() caller: Principal,
    @IdempotencyKey() idempotencyKey?: string,
  ): Promise<PublishedDto> {
    return this.notifications.push(dto, { idempotencyKey, caller: caller.id });
  }
}
