import { Module } from '@nestjs/common';
import { PresenceModule } from '../presence/presence.module';
import { ChatGateway } from './chat.gateway';
import { ChatService } from './chat.service';

@Module({ imports: [PresenceModule], providers: [ChatGateway, ChatService] })
export class ChatModule {}
