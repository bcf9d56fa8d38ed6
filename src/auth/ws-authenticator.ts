import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { Principal } from '@app/core';
import { extractToken } from './token-extractor';
import { TokenService } from './token.service';

/** The WebSocket upgrade's check: no token → anonymous; a bad one throws (→ close 4001). */
@Injectable()
export class WsAuthenticator {
  constructor(private readonly tokens: TokenService) {}

  authenticate(request: IncomingMessage): Principal | null {
    const token = extractToken(request);
    return token === undefined ? null : this.tokens.verify(token);
  }
}
