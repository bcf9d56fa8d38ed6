import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { CHANNEL_NAME } from '@app/channels';

/** `:room` of the server API's routes. */
export class RoomParamDto {
  @ApiProperty({ example: 'team:42', pattern: CHANNEL_NAME.source })
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:-' })
  room!: string;
}
