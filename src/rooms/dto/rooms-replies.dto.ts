import { ApiProperty } from '@nestjs/swagger';
import type { Body, ChatHistoryReply, ChatMessage, DisconnectReply } from '@app/protocol';

/** A `chat.message` (OpenAPI schema). */
export class ChatMessageDto implements ChatMessage {
  @ApiProperty({ example: 'team:42' })
  room!: string;

  @ApiProperty({ example: '0b6f3c2e-4a1d-4a59-9d7e-2f0c1b9e8a11' })
  id!: string;

  @ApiProperty({ example: 118, description: 'Its position in the room' })
  seq!: number;

  @ApiProperty({ example: 'alice', description: 'The sender: a user, or a service token’s `sub`' })
  from!: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: true }],
    example: 'hello',
  })
  body!: Body;

  @ApiProperty({ example: 1764950000000, description: 'ms since epoch' })
  ts!: number;
}

/** 200 of `GET /rooms/:room/messages`, as `chat.history` answers. */
export class ChatHistoryReplyDto implements ChatHistoryReply {
  @ApiProperty({ example: 'team:42' })
  room!: string;

  @ApiProperty({ example: '2026-12-05T17:40:00.000Z', description: 'Names the history itself' })
  epoch!: string;

  @ApiProperty({ type: [ChatMessageDto], description: 'Oldest first, the newest last' })
  messages!: ChatMessageDto[];

  @ApiProperty({ description: 'Older messages remain: ask again with before = messages[0].seq' })
  hasMore!: boolean;
}

/** 200 of `POST /users/:userId/disconnect`. */
export class DisconnectReplyDto implements DisconnectReply {
  @ApiProperty({ example: 2, description: 'Connections closed with 4003 across the cluster' })
  closed!: number;
}
