import { ArrayMaxSize, ArrayNotEmpty, IsArray, Matches } from 'class-validator';
import { WsRequest } from '@app/ws';
import { STREAM_NAME } from '../notifications.subjects';
import { STREAM_MESSAGE } from './notifications-subscribe.dto';

export class NotificationsUnsubscribeDto extends WsRequest {
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(64)
  @Matches(STREAM_NAME, { each: true, message: STREAM_MESSAGE })
  streams!: string[];
}
