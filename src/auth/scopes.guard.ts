import {
  Injectable,
  SetMetadata,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, type Principal } from '@app/core';
import type { Request } from 'express';
import { AppConfig } from '../config';
import { extractToken } from './token-extractor';
import { TokenGate } from './token-gate';
import type { Scope } from './scopes';

const SCOPES = Symbol('scopes');
const OPEN_IN_DEVELOPMENT = Symbol('open-in-development');
const USER = Symbol('user');

/** The scopes a route needs; `ScopesGuard` checks them on the bearer token. */
export const Scopes = (...scopes: Scope[]) => SetMetadata(SCOPES, scopes);

/** The route needs no token unless NODE_ENV is production (the console's cluster view). */
export const OpenInDevelopment = () => SetMetadata(OPEN_IN_DEVELOPMENT, true);

type AuthenticatedRequest = Request & { [USER]?: Principal };

/** The caller of an HTTP route guarded by `ScopesGuard`. */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<AuthenticatedRequest>()[USER],
);

/** HTTP: 401 without a valid bearer token, 403 without the route's scopes. */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(
    private readonly gate: TokenGate,
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (
      this.config.env !== 'production' &&
      this.reflector.getAllAndOverride<boolean | undefined>(OPEN_IN_DEVELOPMENT, targets)
    ) {
      return true;
    }
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const user = this.gate.admit(extractToken(request), 'http');
    const needed = this.reflector.getAllAndOverride<Scope[] | undefined>(SCOPES, targets) ?? [];
    const missing = needed.filter((scope) => !user.scopes.includes(scope));
    if (missing.length > 0) {
      throw new AppError('forbidden', `the token lacks the scope ${missing.join(', ')}`);
    }
    request[USER] = user;
    return true;
  }
}
