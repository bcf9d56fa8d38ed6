import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { PresenceModule } from '../presence/presence.module';
import { ChatGateway } from './chat.gateway';
import { ChatService } from './chat.service';
import { RoomHistory } from './room-history.service';

@Module({
  imports: [AuthModule, PresenceModule],
  providers: [ChatGateway, ChatService, RoomHistory],
  exports: [ChatService, RoomHistory],
})
export class ChatModule {}
