import { UseGuards } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { type Connection, SignedInGuard, WsGateway } from '@app/ws';
import { ChatEvent } from './chat.subjects';
import { ChatService } from './chat.service';
import { ChatDirectDto } from './dto/chat-direct.dto';
import { ChatHistoryDto } from './dto/chat-history.dto';
import { ChatInboxDto } from './dto/chat-inbox.dto';
import { ChatJoinDto } from './dto/chat-join.dto';
import { ChatLeaveDto } from './dto/chat-leave.dto';
import { ChatSendDto } from './dto/chat-send.dto';

@WsGateway()
@UseGuards(SignedInGuard)
export class ChatGateway {
  constructor(private readonly chat: ChatService) {}

  @SubscribeMessage(ChatEvent.Join)
  join(@ConnectedSocket() conn: Connection, @MessageBody() dto: ChatJoinDto) {
    return this.chat.join(conn, dto);
  }

  @SubscribeMessage(ChatEvent.Leave)
  leave(@ConnectedSocket() conn: Connection, @MessageBody() dto: ChatLeaveDto) {
    return this.chat.leave(conn, dto);
  }

  @SubscribeMessage(ChatEvent.Send)
  send(@ConnectedSocket() conn: Connection, @MessageBody() dto: ChatSendDto) {
    return this.chat.send(conn, dto);
  }

  @SubscribeMessage(ChatEvent.History)
  history(@ConnectedSocket() conn: Connection, @MessageBody() dto: ChatHistoryDto) {
    return this.chat.history(conn, dto);
  }

  @SubscribeMessage(ChatEvent.Direct)
  direct(@ConnectedSocket() conn: Connection, @MessageBody() dto: ChatDirectDto) {
    return this.chat.direct(conn, dto);
  }

  @SubscribeMessage(ChatEvent.Inbox)
  inbox(@ConnectedSocket() conn: Connection, @MessageBody() dto: ChatInboxDto) {
    return this.chat.inbox(conn, dto);
  }
}
