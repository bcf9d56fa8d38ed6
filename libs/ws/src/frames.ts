import type { Welcome } from '@app/protocol';
import type { AppError, ErrorCode, FieldError } from '@app/core';

/** A request's correlation id, echoed in its `reply` or `error`. */
export type Ref = string | number;

/**
 * Every frame the server sends, by event name. Feature modules add theirs by declaration merging:
 * `declare module '@app/ws' { interface ServerEvents { 'chat.message': ChatMessage } }`.
 */
export interface ServerEvents {
  welcome: Welcome;
  reply: { ref?: Ref } & Record<string, unknown>;
  error: {
    ref?: Ref;
    code: ErrorCode;
    message: string;
    fields?: FieldError[];
    retryAfterMs?: number;
  };
  reconnect: { reason: string };
}

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
