import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsOptional,
  IsString,
  Length,
  Matches,
  ValidateIf,
} from 'class-validator';
import { CHANNEL_NAME } from '@app/channels';
import { WsRequest } from '@app/ws';

/** Either `{room}` (who is in it) or `{users}` (which of them are online). */
export class PresenceQueryDto extends WsRequest {
  @ValidateIf((dto: PresenceQueryDto) => dto.users === undefined)
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:- (or ask for users)' })
  room?: string;

  @IsOptional()
  @ValidateIf((dto: PresenceQueryDto) => dto.room === undefined)
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 256, { each: true })
  users?: string[];
}
