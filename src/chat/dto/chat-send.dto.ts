import { IsDefined, Matches } from 'class-validator';
import { CHANNEL_NAME } from '@app/channels';
import { IsStringOrObject, Opaque, WsRequest } from '@app/ws';
import type { Body } from '../chat.events';
import { IsIdempotencyKey } from './idempotency-key';

export class ChatSendDto extends WsRequest {
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:-' })
  room!: string;

  @IsDefined()
  @IsStringOrObject()
  @Opaque()
  body!: Body;

  /** Repeating the send with the same key within 5 minutes returns the first {id, seq}, stored once. */
  @IsIdempotencyKey()
  key?: string;
}
