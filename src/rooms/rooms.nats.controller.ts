import { Controller, UseFilters, UsePipes } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { createValidationPipe } from '@app/ws';
import { ChatService } from '../chat/chat.service';
import { HISTORY_DEFAULT_LIMIT } from '../chat/dto/chat-history.dto';
import { RoomHistory } from '../chat/room-history.service';
import { UserDisconnect } from '../connection/user-disconnect.service';
import { RejectMalformedPipe } from '../rpc/reject-malformed.pipe';
import { RpcReplyErrorFilter } from '../rpc/rpc-error.filters';
import { RoomsHistoryDto, RoomsPublishDto, UsersDisconnectDto } from './dto/rooms-nats.dto';
import { API_QUEUE, DEFAULT_DISCONNECT_REASON, RoomsPattern } from './rooms.subjects';

/**
 * The server API over NATS request/reply, for services inside the broker's trust boundary (NATS
 * permissions say who may publish here). One replica of the `api` queue group answers each.
 * `rooms.publish` names its sender in `from`: NATS carries no token.
 */
@Controller()
@UsePipes(new RejectMalformedPipe(), createValidationPipe())
@UseFilters(RpcReplyErrorFilter)
export class RoomsNatsController {
  constructor(
    private readonly chat: ChatService,
    private readonly history: RoomHistory,
    private readonly sessions: UserDisconnect,
  ) {}

  @MessagePattern(RoomsPattern.Publish, { queue: API_QUEUE })
  publish(@Payload() { room, body, from, key }: RoomsPublishDto) {
    return this.chat.post(from, room, body, key);
  }

  @MessagePattern(RoomsPattern.History, { queue: API_QUEUE })
  page(@Payload() { room, before, limit }: RoomsHistoryDto) {
    return this.history.page(room, before, limit ?? HISTORY_DEFAULT_LIMIT);
  }

  @MessagePattern(RoomsPattern.Disconnect, { queue: API_QUEUE })
  disconnect(@Payload() { userId, reason }: UsersDisconnectDto) {
    return this.sessions.disconnect(userId, reason ?? DEFAULT_DISCONNECT_REASON);
  }
}
