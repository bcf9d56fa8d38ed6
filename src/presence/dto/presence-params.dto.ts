import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { CHANNEL_NAME } from '@app/channels';

/** `:userId` of `GET /presence/users/:userId`: a token's `sub`. */
export class PresenceUserParamDto {
  @ApiProperty({ example: 'alice', maxLength: 256 })
  @IsString()
  @MaxLength(256, { message: 'userId is at most 256 characters' })
  userId!: string;
}

/** `:room` of `GET /presence/rooms/:room`. */
export class PresenceRoomParamDto {
  @ApiProperty({ example: 'lobby', pattern: CHANNEL_NAME.source })
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:-' })
  room!: string;
}
