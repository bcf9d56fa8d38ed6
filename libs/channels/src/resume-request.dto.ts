import { IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { WsRequest } from '@app/ws';

/** A request that joins a channel and may resume it: `since` and the `epoch` it belongs to. */
export class ResumeRequest extends WsRequest {
  /** The last seq the client has: everything after it is replayed before live messages. */
  @IsOptional()
  @IsInt()
  @Min(0)
  since?: number;

  /** The epoch `since` belongs to (from an earlier join's reply). */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  epoch?: string;
}
