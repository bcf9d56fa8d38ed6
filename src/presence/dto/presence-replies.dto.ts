import { ApiProperty } from '@nestjs/swagger';

/** 200 of `GET /presence/users/:userId`. */
export class UserPresenceDto {
  @ApiProperty({ example: 'alice' })
  userId!: string;

  @ApiProperty({ example: true })
  online!: boolean;

  @ApiProperty({ example: 2, description: 'Open connections across the cluster' })
  connections!: number;
}

/** 200 of `GET /presence/rooms/:room`. */
export class RoomPresenceDto {
  @ApiProperty({ example: 'lobby' })
  room!: string;

  @ApiProperty({ example: ['alice', 'bob'], description: 'Sorted user ids' })
  users!: string[];
}
