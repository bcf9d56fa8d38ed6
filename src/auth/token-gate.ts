import { Injectable, Logger, Optional } from '@nestjs/common';
import type { Principal } from '@app/core';
import { Counter, Registry } from 'prom-client';
import { REFUSAL_REASONS, TokenRefused, type RefusalReason } from './token-refused';
import { TokenService } from './token.service';

/** Where a connection attempt came in: the WebSocket upgrade or a REST route. */
export type AuthTransport = 'ws' | 'http';
const TRANSPORTS: readonly AuthTransport[] = ['ws', 'http'];

/**
 * The door of every connection attempt: verifies its bearer token, and logs each refusal once at
 * info with its reason class and counts it, so an operator can tell expired tokens from a wrong
 * key. Never logs the token, nor any claim of a token it could not verify.
 */
@Injectable()
export class TokenGate {
  private readonly logger = new Logger(TokenGate.name);
  private readonly refused: Counter<'transport' | 'reason'>;

  constructor(
    private readonly tokens: TokenService,
    @Optional() registry: Registry = new Registry(),
  ) {
    this.refused = new Counter({
      name: 'realtime_auth_refused_total',
      help: 'Connection attempts refused for their token (WebSocket upgrades, REST 401s), by transport and reason',
      labelNames: ['transport', 'reason'],
      registers: [registry],
    });
    // Every series exists from the start: a dashboard shows 0 rather than nothing.
    for (const transport of TRANSPORTS) {
      for (const reason of REFUSAL_REASONS) this.refused.labels(transport, reason).inc(0);
    }
  }

  /** The principal of `token`; throws `TokenRefused` (logged and counted) when there is none. */
  admit(token: string | undefined, transport: AuthTransport): Principal {
    try {
      if (token === undefined) throw new TokenRefused('missing', 'a bearer token is required');
      return this.tokens.verify(token);
    } catch (error) {
      if (error instanceof TokenRefused) this.record(error.reason, transport);
      throw error;
    }
  }

  private record(reason: RefusalReason, transport: AuthTransport): void {
    this.refused.labels(transport, reason).inc();
    this.logger.log({ transport, reason, msg: 'connection refused' });
  }
}
