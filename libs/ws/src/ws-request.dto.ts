import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsStringOrNumber } from './validators';
import type { Ref } from './frames';

/** Base of every WebSocket request DTO: the optional `ref` echoed by the reply or error. */
export class WsRequest {
  @ApiPropertyOptional({ description: 'Correlation id echoed in the reply or error' })
  @IsOptional()
  @IsStringOrNumber()
  ref?: Ref;
}
