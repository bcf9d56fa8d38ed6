import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AppError } from '@app/core';
import type { Request } from 'express';
import { Scope, TokenGate, extractToken } from '../auth';
import { AppConfig } from '../config';

/** The cluster view is open in development; in production it needs a `cluster:read` token. */
@Injectable()
export class ConsoleGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly gate: TokenGate,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.config.env !== 'production') return true;
    const token = extractToken(context.switchToHttp().getRequest<Request>());
    const user = this.gate.admit(token, 'http', 'a bearer token with cluster:read is required');
    if (!user.scopes.includes(Scope.ClusterRead)) {
      throw new AppError('forbidden', 'the token lacks the scope cluster:read');
    }
    return true;
  }
}
