import type { AppError } from '@app/core';
import type { Ref, ServerEvents } from '@app/protocol';

/** The frames the server sends are typed by the one map of the protocol (`@app/protocol`). */
export type { Ref, ServerEvents } from '@app/protocol';

export function encodeFrame<E extends keyof ServerEvents>(event: E, data: ServerEvents[E]): string {
  return JSON.stringify({ event, data });
}

/** An `error` frame's data: the error, answering the request `ref` when there is one. */
export function errorData(error: AppError, ref: Ref | undefined): ServerEvents['error'] {
  return {
    ...(ref !== undefined && { ref }),
    code: error.code,
    message: error.message,
    ...(error.fields && { fields: error.fields }),
    ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
  };
}

/** The `ref` of a request's data, when it carries a usable one. */
export function refOf(data: unknown): Ref | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const ref = (data as { ref?: unknown }).ref;
  return typeof ref === 'string' || typeof ref === 'number' ? ref : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
