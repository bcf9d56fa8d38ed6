import { Controller, UseFilters, UsePipes } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { createValidationPipe } from '@app/ws';
import { RejectMalformedPipe } from '../rpc/reject-malformed.pipe';
import { RpcEventErrorFilter, RpcReplyErrorFilter } from '../rpc/rpc-error.filters';
import { PushNotificationDto } from './dto/push-notification.dto';
import { NOTIFICATIONS_QUEUE, NotificationsPattern } from './notifications.subjects';
import { NotificationsService } from './notifications.service';

/**
 * Pushes from other services over NATS, in a queue group so that exactly one replica handles each.
 * The queue is set per handler: on the microservice it would apply to every handler.
 */
@Controller()
@UsePipes(new RejectMalformedPipe(), createValidationPipe())
export class NotificationsNatsController {
  constructor(private readonly notifications: NotificationsService) {}

  @EventPattern(NotificationsPattern.Push, { queue: NOTIFICATIONS_QUEUE })
  @UseFilters(RpcEventErrorFilter)
  async push(@Payload() dto: PushNotificationDto): Promise<void> {
    await this.notifications.push(dto);
  }

  @MessagePattern(NotificationsPattern.Publish, { queue: NOTIFICATIONS_QUEUE })
  @UseFilters(RpcReplyErrorFilter)
  publish(@Payload() dto: PushNotificationDto) {
    return this.notifications.push(dto);
  }
}
