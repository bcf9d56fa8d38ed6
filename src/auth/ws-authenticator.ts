import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { AppError, type Principal } from '@app/core';
import { extractToken } from './token-extractor';
import { TokenGate } from './token-gate';
import { TokenRefused } from './token-refused';

/**
 * The WebSocket upgrade's check: no token → anonymous; a bad one throws an `AppError` whose message
 * is the 4001 close reason: `token expired` (renew it) or `unauthorized` (anything else).
 */
@Injectable()
export class WsAuthenticator {
  constructor(private readonly gate: TokenGate) {}

  authenticate(request: IncomingMessage): Principal | null {
    const token = extractToken(request);
    if (token === undefined) return null;
    try {
      return this.gate.admit(token, 'ws', 'no token');
    } catch (error) {
      const expired = error instanceof TokenRefused && error.reason === 'expired';
      throw new AppError('unauthorized', expired ? 'token expired' : 'unauthorized');
    }
  }
}
