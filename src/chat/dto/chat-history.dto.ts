import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { CHANNEL_NAME } from '@app/channels';
import { WsRequest } from '@app/ws';

/** Messages a WebSocket page holds at most, and by default. */
export const WS_HISTORY_MAX_LIMIT = 100;
export const HISTORY_DEFAULT_LIMIT = 50;

/** `chat.history {room, before?, limit?}`: a page of older messages of a room the caller joined. */
export class ChatHistoryDto extends WsRequest {
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:-' })
  room!: string;

  /** Only messages with seq < before; omitted: the newest. */
  @IsOptional()
  @IsInt()
  @Min(1)
  before?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(WS_HISTORY_MAX_LIMIT)
  limit?: number;
}
