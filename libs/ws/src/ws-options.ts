import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '@app/core';
import type { RateLimit } from './rate-limiter';

export interface WsOptions {
  path: string;
  replicaId: string;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  rateLimit: RateLimit;
  /** Frames nested deeper get `bad_request` before they are parsed. */
  maxJsonDepth: number;
  /** A request while this many of the connection's are unanswered gets `limit_exceeded`. */
  maxInFlight: number;
  pingIntervalMs: number;
  drainWindowMs: number;
  /**
   * Runs during the upgrade, before any frame is read: the user, `null` for an anonymous
   * connection, or a throw for a bad token: the socket is then closed with 4001, and an
   * `AppError`'s message (at most 123 bytes) as the reason.
   */
  authenticate(request: IncomingMessage): Principal | null;
}

/** `WsModule.forRootAsync({ imports, inject, useFactory })` and the resolved options' token. */
export const { ConfigurableModuleClass: WsModuleDefinition, MODULE_OPTIONS_TOKEN: WS_OPTIONS } =
  new ConfigurableModuleBuilder<WsOptions>().setClassMethodName('forRoot').build();
