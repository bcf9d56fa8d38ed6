import { AppError } from '@app/core';

/** Shared by both implementations so bad input fails the same way in either. */
export function invalidSince(since: number): AppError | undefined {
  if (Number.isSafeInteger(since) && since >= 0) return undefined;
  return new AppError('bad_request', 'since must be an integer >= 0', [
    { field: 'since', message: 'must be an integer >= 0' },
  ]);
}
