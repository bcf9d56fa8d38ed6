import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { HISTORY_DEFAULT_LIMIT } from '../../chat/dto/chat-history.dto';
import { API_HISTORY_MAX_LIMIT } from '../rooms.subjects';

/** `GET /rooms/:room/messages?before=&limit=`: a page of the room's history. */
export class RoomMessagesQueryDto {
  @ApiPropertyOptional({
    minimum: 1,
    example: 120,
    description: 'Only messages with seq < before (omitted: the newest)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: API_HISTORY_MAX_LIMIT,
    default: HISTORY_DEFAULT_LIMIT,
    example: 50,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(API_HISTORY_MAX_LIMIT)
  limit?: number;
}
