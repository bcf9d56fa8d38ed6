import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ChatModule } from '../chat/chat.module';
import { ConnectionModule } from '../connection/connection.module';
import { RoomsController } from './rooms.controller';
import { RoomsNatsController } from './rooms.nats.controller';
import { UsersController } from './users.controller';

/** The server API for other services, over REST (scoped service tokens) and NATS request/reply. */
@Module({
  imports: [AuthModule, ChatModule, ConnectionModule],
  controllers: [RoomsController, UsersController, RoomsNatsController],
})
export class RoomsModule {}
