import { ApiProperty } from '@nestjs/swagger';
import type { Published } from '@app/protocol';

/** 202 of a stored message or notification (OpenAPI schema of `Published`). */
export class PublishedDto implements Published {
  @ApiProperty({ example: '0b6f3c2e-4a1d-4a59-9d7e-2f0c1b9e8a11', description: 'Message id' })
  id!: string;

  @ApiProperty({ example: 42, description: 'Its position in the channel (resume from it)' })
  seq!: number;
}
