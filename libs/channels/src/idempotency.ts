import { createHash } from 'node:crypto';

export interface IdempotentIds {
  /** The history's dedupe key: a repeat within its window stores nothing and returns the first seq. */
  msgID: string;
  /** The message id, derived from the same key, so a repeat answers the first message's id too. */
  id: string;
}

/**
 * Ids for a publish made idempotent by a client's key. `scope` keeps keys of different callers or
 * channels apart (one caller's key can never dedupe another's message).
 */
export function idempotentIds(scope: readonly string[], key: string): IdempotentIds {
  const hex = createHash('sha256')
    .update([...scope, key].join('\n'))
    .digest('hex');
  const id = [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20, 32),
  ].join('-');
  return { msgID: hex, id };
}
