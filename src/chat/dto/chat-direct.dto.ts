import { IsDefined, IsString, Length } from 'class-validator';
import { IsStringOrObject, Opaque, WsRequest } from '@app/ws';
import type { Body } from '../chat.events';
import { IsIdempotencyKey } from './idempotency-key';

export class ChatDirectDto extends WsRequest {
  @IsString()
  @Length(1, 256)
  to!: string;

  @IsDefined()
  @IsStringOrObject()
  @Opaque()
  body!: Body;

  /** Repeating the send with the same key within 5 minutes returns the first {id, seq}, stored once. */
  @IsIdempotencyKey()
  key?: string;
}
