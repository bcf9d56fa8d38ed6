import { IntersectionType } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { IsIdempotencyKey } from '../../chat/dto/idempotency-key';
import { RoomMessageDto } from './room-message.dto';
import { RoomMessagesQueryDto } from './room-messages-query.dto';
import { RoomParamDto } from './room-param.dto';
import { UserDisconnectDto } from './user-disconnect.dto';
import { UserParamDto } from './user-param.dto';

/**
 * The server API over NATS: the REST route's path parameters and body in one message, validated
 * by the same DTOs.
 */
export class RoomsPublishDto extends IntersectionType(RoomParamDto, RoomMessageDto) {
  /** The sender members see (over REST, the token's `sub`; NATS carries no token). */
  @IsString()
  @Length(1, 256)
  from!: string;

  /** The REST route's `Idempotency-Key`. */
  @IsIdempotencyKey()
  key?: string;
}

export class RoomsHistoryDto extends IntersectionType(RoomParamDto, RoomMessagesQueryDto) {}

export class UsersDisconnectDto extends IntersectionType(UserParamDto, UserDisconnectDto) {}
