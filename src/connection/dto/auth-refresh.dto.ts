import { IsJWT } from 'class-validator';
import { WsRequest } from '@app/ws';

export class AuthRefreshDto extends WsRequest {
  @IsJWT()
  token!: string;
}
