/** The contract's error codes, shared by WebSocket `error` frames and HTTP error bodies. */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A field at fault and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * The one error services throw. Filters turn it into an `error` frame or an HTTP status; services
 * never learn which transport asked.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldError[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}
