import { ErrorCode, NatsError } from 'nats';
import { AppError } from '@app/core';
import { STORE_SUBJECTS } from './subjects';

/** JetStream API error codes the history reacts to (server `err_code`). */
export const SUBJECTS_OVERLAP = 10065;
export const STREAM_NAME_IN_USE = 10058;
export const STREAM_NOT_FOUND = 10059;

/** Connection-level failures: the broker is down, unreachable or too slow. */
const UNAVAILABLE_CODES = new Set<string>([
  ErrorCode.Timeout,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Disconnect,
  ErrorCode.NoResponders,
]);

/** Maps broker failures to `unavailable`; anything else (a 4xx: our bug) stays as it is. */
export function translate(err: unknown, op: string): Error {
  if (err instanceof AppError) return err;
  // A JetStream 5xx (JetStream not ready, stream offline, no quorum) is the broker's trouble too.
  const serverSide = err instanceof NatsError && (err.api_error?.code ?? 0) >= 500;
  if (err instanceof NatsError && (UNAVAILABLE_CODES.has(err.code) || serverSide)) {
    return new AppError('unavailable', `history ${op} failed: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function isUnavailable(err: Error): boolean {
  return err instanceof AppError && err.code === 'unavailable';
}

/** A start-up refusal, with what to do about the usual one. */
export function startupError(stream: string, err: Error): Error {
  const hint = isApiError(err, SUBJECTS_OVERLAP)
    ? `: another stream on this NATS server already stores ${STORE_SUBJECTS}; set HISTORY_STREAM ` +
      `to its name to share it, or delete it (\`nats stream rm <name>\`)`
    : '';
  return new Error(`cannot create history stream ${stream}: ${err.message}${hint}`, { cause: err });
}

export function isCode(err: unknown, code: string): boolean {
  return err instanceof NatsError && err.code === code;
}

export function isApiError(err: unknown, errCode: number): boolean {
  return err instanceof NatsError && err.api_error?.err_code === errCode;
}
