import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { ScopesGuard } from './scopes.guard';
import { TokenService } from './token.service';
import { WsAuthenticator } from './ws-authenticator';

@Module({
  imports: [JwtModule.register({})],
  providers: [TokenService, WsAuthenticator, ScopesGuard],
  exports: [TokenService, WsAuthenticator, ScopesGuard],
})
export class AuthModule {}
