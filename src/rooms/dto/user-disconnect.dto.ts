import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

/** `POST /users/:userId/disconnect`: the close reason the user's clients see with code 4003. */
export class UserDisconnectDto {
  @ApiPropertyOptional({
    example: 'account suspended',
    maxLength: 100,
    description: 'Printable ASCII, sent as the WebSocket close reason (default `disconnected`)',
  })
  @IsOptional()
  @Matches(/^[\x20-\x7e]{1,100}$/, { message: 'reason must be 1-100 printable ASCII characters' })
  reason?: string;
}
