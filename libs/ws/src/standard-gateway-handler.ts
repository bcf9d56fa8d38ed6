/**
 * Fast path (checked against @nestjs/core 11.2.10 and @nestjs/websockets 11.2.6): a handler of a
 * gateway whose only interceptor and filter are the ones `@WsGateway()` declares gets Nest's guards
 * and pipes, and this file does the reply interceptor's and the error filter's work directly.
 * Nest's interceptor chain builds an rxjs pipeline and an `AsyncResource.bind` (two `deprecate()`
 * wrappers) per frame, and its filter proxy a closure: measured in the bench's CPU profile of 100
 * rooms × 10 at max rate, rxjs + `deprecate` + the chain were ≈ 10 % of the publishing replica's CPU.
 *
 * Any other interceptor or filter (on the method, the class, or global) and the handler takes
 * Nest's whole pipeline instead. Reads Nest's private `container` of `ExternalContextCreator` to
 * see the global interceptors; without it, no fast path. `ws-dispatcher.spec.ts` checks both ways.
 */
import type { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { ApplicationConfig } from '@nestjs/core';
import { EXCEPTION_FILTERS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import type { Connection } from './connection';
import { refOf } from './frames';
import { WsErrorFilter } from './ws-error.filter';
import { WsReplyInterceptor, replyFrame } from './ws-reply.interceptor';

/** A gateway method wrapped in its guards, pipes, interceptors and filters: the reply, if any. */
export type EventHandler = (conn: Connection, data: unknown, event: string) => Promise<unknown>;

/** Whether `callback` of `gateway` has exactly `@WsGateway()`'s interceptor and filter. */
export function hasStandardReplyAndFilter(
  gateway: object,
  callback: object,
  contexts: ExternalContextCreator,
): boolean {
  const config = (contexts as unknown as { container?: { applicationConfig?: ApplicationConfig } })
    .container?.applicationConfig;
  if (!config) return false;
  if (config.getGlobalInterceptors().length + config.getGlobalRequestInterceptors().length > 0) {
    return false;
  }
  const only = (key: string, target: object, expected: unknown): boolean => {
    const found = Reflect.getMetadata(key, target) as unknown[] | undefined;
    return found?.length === 1 && found[0] === expected;
  };
  const none = (key: string): boolean =>
    ((Reflect.getMetadata(key, callback) as unknown[] | undefined) ?? []).length === 0;
  return (
    only(INTERCEPTORS_METADATA, gateway, WsReplyInterceptor) &&
    only(EXCEPTION_FILTERS_METADATA, gateway, WsErrorFilter) &&
    none(INTERCEPTORS_METADATA) &&
    none(EXCEPTION_FILTERS_METADATA)
  );
}

/**
 * `guardedAndPiped` (made by Nest without interceptors and filters) answered as the reply
 * interceptor and the error filter would: a `reply` frame, or the filter's `error` frame.
 */
export function withReplyAndErrorFrames(
  guardedAndPiped: EventHandler,
  filter: WsErrorFilter,
): EventHandler {
  return (conn, data, event) =>
    guardedAndPiped(conn, data, event).then(
      (result) => replyFrame(refOf(data), result),
      (error: unknown) => {
        const host = new ExecutionContextHost([conn, data, event]);
        host.setType('ws');
        return filter.catch(error, host);
      },
    );
}
