import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AppError } from '@app/core';
import type { Connection } from './connection';

/** WebSocket events that need a user: anonymous connections get `unauthorized`. */
@Injectable()
export class SignedInGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (!context.switchToWs().getClient<Connection>().user) {
      throw new AppError('unauthorized', 'this event needs a signed-in connection (send a token)');
    }
    return true;
  }
}
