/**
 * The contract's error codes, shared by WebSocket `error` frames, HTTP error bodies, NATS replies
 * and the client SDK. `unavailable`: the broker is unreachable, retry later. `overloaded`: the
 * replica is shedding load and stored nothing, retry after `retryAfterMs`. `limit_exceeded`: a
 * per-connection or per-user limit was reached.
 */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'rate_limited',
  'limit_exceeded',
  'overloaded',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A field at fault and what is wrong with it (`bad_request`). */
export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  /** With `overloaded`: when the client should try again. */
  retryAfterMs?: number;
}

/**
 * The one error services throw. Filters turn it into an `error` frame, an HTTP status or a NATS
 * error reply; services never learn which transport asked.
 */
export class AppError extends Error {
  readonly retryAfterMs?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldError[],
    options: AppErrorOptions = {},
  ) {
    super(message);
    this.name = 'AppError';
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
