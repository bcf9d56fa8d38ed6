import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { WsGateway, type Connection } from '@app/ws';
import { NotificationsSubscribeDto } from './dto/notifications-subscribe.dto';
import { NotificationsUnsubscribeDto } from './dto/notifications-unsubscribe.dto';
import { NotificationsEvent } from './notifications.subjects';
import { NotificationsService } from './notifications.service';

/** Open to anonymous connections: the service refuses them private streams. */
@WsGateway()
export class NotificationsGateway {
  constructor(private readonly notifications: NotificationsService) {}

  @SubscribeMessage(NotificationsEvent.Subscribe)
  subscribe(@ConnectedSocket() conn: Connection, @MessageBody() dto: NotificationsSubscribeDto) {
    return this.notifications.subscribe(conn, dto);
  }

  @SubscribeMessage(NotificationsEvent.Unsubscribe)
  unsubscribe(
    @ConnectedSocket() conn: Connection,
    @MessageBody() dto: NotificationsUnsubscribeDto,
  ) {
    return this.notifications.unsubscribe(conn, dto);
  }
}
