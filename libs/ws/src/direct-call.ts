/**
 * A `@WsGateway()` handler called directly: what Nest's guards-and-pipes pipeline would do for a
 * valid request, done with the work resolved once at start-up. Nest's pipeline makes ~25 promises
 * per frame (guards, each parameter, each pipe, the result), and AsyncLocalStorage (nestjs-pino)
 * makes every promise pay async hooks: measured with a gateway like `chat.send`, ~3× the CPU of a
 * direct call per frame.
 *
 * Only the common shape takes it: parameters `@ConnectedSocket()` and `@MessageBody()` (no key, no
 * pipes of its own) of a DTO with a compiled check, pipes that are all `CompiledValidationPipe`,
 * guards that are instances or classes without dependencies, nothing request-scoped. Per frame, a
 * guard that does not answer `true` at once, or a body the compiled check does not accept, gets
 * Nest's pipeline instead (which runs the guard again and gives its usual errors), so every
 * refusal reads as before. `ws-dispatcher.spec.ts` checks both ways.
 */
import type { CanActivate } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import { compiledDto, type CompiledDto } from './compiled-dto';
import type { Connection } from './connection';
import {
  GUARDS_METADATA,
  PARAM_ARGS_METADATA,
  PIPES_METADATA,
  SCOPE_OPTIONS_METADATA,
  WsParamtype,
  globalEnhancers,
  wsArgumentsHost,
  type ExternalContextCreator,
} from './internals';
import { CompiledValidationPipe } from './validation';

/** The handler's result, or undefined: this request takes Nest's pipeline. */
export type DirectCall = (
  conn: Connection,
  data: unknown,
  event: string,
) => Promise<unknown> | undefined;

type Method = (...args: unknown[]) => unknown;

interface ParamArg {
  index: number;
  data?: unknown;
  pipes?: unknown[];
}

/** The direct call of `method` of a standard gateway `instance`, when its shape allows one. */
export function directCallOf(
  instance: object,
  callback: Method,
  method: string,
  contexts: ExternalContextCreator,
): DirectCall | undefined {
  const global = globalEnhancers(contexts);
  if (!global || global.scoped > 0) return undefined;
  const gateway = instance.constructor;
  const guards = [...global.guards, ...metadataOf(GUARDS_METADATA, gateway, callback)].map(
    guardInstance,
  );
  if (guards.some((guard) => guard === undefined)) return undefined;
  const pipes = [...global.pipes, ...metadataOf(PIPES_METADATA, gateway, callback)];
  if (pipes.length === 0 || !pipes.every((pipe) => pipe instanceof CompiledValidationPipe)) {
    return undefined;
  }
  const shape = parametersOf(instance, method);
  if (!shape) return undefined;
  const { argsLength, socketAt, body } = shape;
  const check = body.check;
  const activate = guards as CanActivate[];
  /** The handler's arguments when every guard says `true` and the check accepts the body. */
  const argsFor = (conn: Connection, data: unknown, event: string): unknown[] | undefined => {
    if (activate.length > 0) {
      const context = wsArgumentsHost([conn, data, event]);
      for (const guard of activate) if (guard.canActivate(context) !== true) return undefined;
    }
    const dto = check(data);
    if (dto === undefined) return undefined;
    const args: unknown[] = new Array(argsLength);
    for (const at of socketAt) args[at] = conn;
    args[body.index] = dto;
    return args;
  };
  return (conn, data, event) => {
    let args: unknown[] | undefined;
    try {
      args = argsFor(conn, data, event);
    } catch {
      return undefined; // a guard or rule that throws: Nest's pipeline answers it
    }
    if (!args) return undefined;
    try {
      const result = callback.apply(instance, args);
      return isObservable(result) ? lastValueFrom(result) : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
}

function metadataOf(key: string, gateway: object, callback: object): unknown[] {
  return [
    ...((Reflect.getMetadata(key, gateway) as unknown[] | undefined) ?? []),
    ...((Reflect.getMetadata(key, callback) as unknown[] | undefined) ?? []),
  ];
}

/** A guard object, or one made from a class without dependencies; undefined: ask Nest. */
function guardInstance(guard: unknown): CanActivate | undefined {
  if (typeof guard === 'object' && guard !== null && 'canActivate' in guard) {
    return guard as CanActivate;
  }
  if (typeof guard !== 'function') return undefined;
  const needs = (Reflect.getMetadata('design:paramtypes', guard) as unknown[] | undefined) ?? [];
  if (needs.length > 0 || guard.length > 0 || Reflect.getMetadata(SCOPE_OPTIONS_METADATA, guard)) {
    return undefined;
  }
  return new (guard as new () => CanActivate)();
}

/** Where the socket and the body go; undefined unless that is all the handler takes. */
function parametersOf(
  instance: object,
  method: string,
):
  | { argsLength: number; socketAt: number[]; body: { index: number; check: CompiledDto } }
  | undefined {
  const params = (Reflect.getMetadata(PARAM_ARGS_METADATA, instance.constructor, method) ??
    {}) as Record<string, ParamArg>;
  const types = (Reflect.getMetadata('design:paramtypes', instance, method) ?? []) as unknown[];
  const socketAt: number[] = [];
  let body: { index: number; check: CompiledDto } | undefined;
  let argsLength = 0;
  for (const [key, param] of Object.entries(params)) {
    if ((param.pipes?.length ?? 0) > 0 || param.data !== undefined) return undefined;
    argsLength = Math.max(argsLength, param.index + 1);
    const type = Number(key.split(':')[0]) as WsParamtype;
    if (type === WsParamtype.SOCKET) socketAt.push(param.index);
    else if (type === WsParamtype.PAYLOAD && body === undefined) {
      const metatype = types[param.index];
      const check =
        typeof metatype === 'function' && metatype.prototype !== undefined
          ? compiledDto(metatype as new () => object)
          : null;
      if (!check) return undefined;
      body = { index: param.index, check };
    } else return undefined;
  }
  return body && { argsLength, socketAt, body };
}
