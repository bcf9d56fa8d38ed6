import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { RoomAccess } from './room-access';
import { ScopesGuard } from './scopes.guard';
import { TokenGate } from './token-gate';
import { TokenService } from './token.service';
import { WsAuthenticator } from './ws-authenticator';

@Module({
  imports: [JwtModule.register({})],
  providers: [TokenService, TokenGate, WsAuthenticator, ScopesGuard, RoomAccess],
  exports: [TokenService, TokenGate, WsAuthenticator, ScopesGuard, RoomAccess],
})
export class AuthModule {}
