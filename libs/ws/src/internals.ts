/**
 * Every use of Nest's and `ws`'s non-public parts, in one place. Checked against @nestjs/core
 * 11.2.10, @nestjs/common 11.2.10, @nestjs/websockets 11.2.6 and ws 8.23.0 (package.json pins
 * them): after an upgrade of one of these, run `internals.spec.ts`, which fails when a fast path
 * below is no longer taken.
 *
 * They pay on the hot path (bench CPU profiles of 100 rooms × 10 at max rate):
 * - `WsDispatcher` wraps each gateway handler once with `ExternalContextCreator`, reading Nest's
 *   own gateway and parameter metadata, instead of Nest's per-connection bindings (~1.8 KB per
 *   idle connection for 10 handlers); `standard-gateway-handler.ts` skips Nest's interceptor and
 *   filter chain for `@WsGateway()` handlers (rxjs + `AsyncResource.bind` per frame: ≈ 10 % of
 *   the publishing replica's CPU when measured).
 * - `direct-call.ts` calls a `@WsGateway()` handler of the common shape (stateless guards, the
 *   compiled DTO check, `@ConnectedSocket()` and `@MessageBody()`) without Nest's per-frame
 *   guards-and-pipes pipeline, ~25 promises per frame, each paying the async hooks that
 *   AsyncLocalStorage (nestjs-pino) turns on; anything else takes that pipeline.
 * - `Connection.sendWire` writes a fan-out frame, framed once, straight to the TCP socket under
 *   `ws` (`ws.send` frames the payload again for every recipient), and `WritableWait` listens for
 *   that socket's `drain`, which `ws` does not surface. `Connection` corks that socket for the
 *   rest of the turn (turn-cork.ts): a turn's frames to it leave in one `writev` syscall.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { CanActivate, PipeTransform } from '@nestjs/common';
import type { ApplicationConfig } from '@nestjs/core';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  SCOPE_OPTIONS_METADATA,
} from '@nestjs/common/constants';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator';
import {
  GATEWAY_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PARAM_ARGS_METADATA,
} from '@nestjs/websockets/constants';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum';

export type { ParamsFactory } from '@nestjs/core/helpers/external-context-creator';
export {
  EXCEPTION_FILTERS_METADATA,
  ExternalContextCreator,
  GATEWAY_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  SCOPE_OPTIONS_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PARAM_ARGS_METADATA,
  WsParamtype,
};

/** The app's global enhancers that apply to gateways (request-scoped ones counted apart). */
export interface GlobalEnhancers {
  interceptors: number;
  guards: readonly CanActivate[];
  pipes: readonly PipeTransform[];
  /** Request-scoped global guards and pipes: resolved per request by Nest. */
  scoped: number;
}

/**
 * The app's global interceptors, guards and pipes, read from Nest's private `container`;
 * undefined when it cannot be read (then no handler may skip Nest's pipeline).
 */
export function globalEnhancers(contexts: ExternalContextCreator): GlobalEnhancers | undefined {
  const config = (contexts as unknown as { container?: { applicationConfig?: ApplicationConfig } })
    .container?.applicationConfig;
  if (!config) return undefined;
  return {
    interceptors:
      config.getGlobalInterceptors().length + config.getGlobalRequestInterceptors().length,
    guards: config.getGlobalGuards(),
    pipes: config.getGlobalPipes(),
    scoped: config.getGlobalRequestGuards().length + config.getGlobalRequestPipes().length,
  };
}

/** The `ArgumentsHost` Nest gives a WebSocket exception filter: the connection, data and event. */
export function wsArgumentsHost(args: unknown[]): ExecutionContextHost {
  const host = new ExecutionContextHost(args);
  host.setType('ws');
  return host;
}

/**
 * The TCP socket under a `ws` WebSocket (its private `_socket`). Writing to it directly is safe
 * only because permessage-deflate is off (`UpgradeGate` creates the server so): ws then never
 * queues frames, and `bufferedAmount` still counts what is written here (corked bytes included).
 */
export function rawSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket;
}
