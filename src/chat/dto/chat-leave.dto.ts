import { Matches } from 'class-validator';
import { CHANNEL_NAME } from '@app/channels';
import { WsRequest } from '@app/ws';

export class ChatLeaveDto extends WsRequest {
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:-' })
  room!: string;
}
