/**
 * Which handlers take the fast path: a handler of a gateway whose only interceptor and filter are
 * the ones `@WsGateway()` declares gets Nest's guards and pipes, and `WsDispatcher` does the reply
 * interceptor's and the error filter's work directly. Nest's interceptor chain builds an rxjs
 * pipeline and an `AsyncResource.bind` (two `deprecate()` wrappers) per frame, and its filter proxy
 * a closure: measured in the bench's CPU profile of 100 rooms × 10 at max rate, rxjs + `deprecate`
 * + the chain were ≈ 10 % of the publishing replica's CPU.
 *
 * Any other interceptor or filter (on the method, the class, or global) and the handler takes
 * Nest's whole pipeline instead. The Nest internals read here are in internals.ts;
 * `ws-dispatcher.spec.ts` and `internals.spec.ts` check both ways.
 */
import {
  EXCEPTION_FILTERS_METADATA,
  INTERCEPTORS_METADATA,
  globalEnhancers,
  type ExternalContextCreator,
} from './internals';
import { WsErrorFilter } from './ws-error.filter';
import { WsReplyInterceptor } from './ws-reply.interceptor';

/** Whether `callback` of `gateway` has exactly `@WsGateway()`'s interceptor and filter. */
export function hasStandardReplyAndFilter(
  gateway: object,
  callback: object,
  contexts: ExternalContextCreator,
): boolean {
  if (globalEnhancers(contexts)?.interceptors !== 0) return false;
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
