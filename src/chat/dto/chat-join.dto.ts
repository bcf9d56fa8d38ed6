import { Matches } from 'class-validator';
import { CHANNEL_NAME, ResumeRequest } from '@app/channels';

export class ChatJoinDto extends ResumeRequest {
  @Matches(CHANNEL_NAME, { message: 'room must be 1-128 of A-Za-z0-9._:-' })
  room!: string;
}
