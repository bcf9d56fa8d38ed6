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
      return this.gate.admit(token, 'ws');
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      throw new AppError(
        'unauthorized',
        error.reason === 'expired' ? 'token expired' : 'unauthorized',
      );
    }
  }
}
