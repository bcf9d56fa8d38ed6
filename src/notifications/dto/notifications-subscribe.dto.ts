import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { WsRequest } from '@app/ws';
import { STREAM_NAME } from '../notifications.subjects';
import { IsSeqMap } from './streams.validators';

export const STREAM_MESSAGE =
  'each stream must be public.<name> or private.<name> (name: 1-128 of A-Za-z0-9._:-)';

export class NotificationsSubscribeDto extends WsRequest {
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(64)
  @Matches(STREAM_NAME, { each: true, message: STREAM_MESSAGE })
  streams!: string[];

  @IsOptional()
  @IsSeqMap()
  since?: Record<string, number>;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  epoch?: string;
}
