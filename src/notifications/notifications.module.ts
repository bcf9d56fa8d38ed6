import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { NotificationsController } from './notifications.controller';
import { NotificationsGateway } from './notifications.gateway';
import { NotificationsNatsController } from './notifications.nats.controller';
import { NotificationsService } from './notifications.service';

@Module({
  imports: [AuthModule],
  controllers: [NotificationsController, NotificationsNatsController],
  providers: [NotificationsGateway, NotificationsService],
})
export class NotificationsModule {}
