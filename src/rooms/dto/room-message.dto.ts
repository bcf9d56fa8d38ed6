import { ApiProperty } from '@nestjs/swagger';
import { IsDefined } from 'class-validator';
import { IsStringOrObject } from '@app/ws';
import type { Body } from '@app/protocol';

/** `POST /rooms/:room/messages`: what members receive as `chat.message.body`. */
export class RoomMessageDto {
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: true }],
    example: { text: 'Deploy finished', build: 812 },
    description: 'A string or a JSON object, delivered exactly as sent',
  })
  @IsDefined({ message: 'body is required' })
  @IsStringOrObject()
  body!: Body;
}
