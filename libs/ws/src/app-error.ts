import type { ErrorCode, FieldError } from '@app/protocol';

/** The contract's error codes and field errors, shared with the client SDK. */
export { ERROR_CODES, type ErrorCode, type FieldError } from '@app/protocol';

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
