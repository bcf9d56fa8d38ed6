import { AppError } from '@app/core';
import type { StoredMessage } from './history-store';

/** What one page of a channel's history may hold in message bytes (at least one message). */
export const OLDER_PAGE_MAX_BYTES = 1024 * 1024;

/** A page of older messages, for a chat screen's "load older messages". */
export interface OlderPageRequest {
  /** Only messages with seq < before; omitted: the newest ones. */
  readonly before?: number;
  /** At most this many messages (an integer >= 1). */
  readonly limit: number;
  /** At most this many bytes of message data, but never fewer than one message. */
  readonly maxBytes?: number;
}

export interface OlderPage {
  /** The newest kept messages with seq < before, oldest first (the newest last). */
  readonly messages: StoredMessage[];
  /** True when older kept messages remain: ask again with `before` = the first message's seq. */
  readonly hasMore: boolean;
  readonly epoch: string;
}

/** A kept message's seq and data size: what a page is chosen from before any body is read. */
export interface OlderPageCandidate {
  readonly seq: number;
  readonly size: number;
}

/** Shared by both implementations so bad input fails the same way in either. */
export function invalidOlderPageRequest({ before, limit }: OlderPageRequest): AppError | undefined {
  const fields = [
    ...(before !== undefined && !(Number.isSafeInteger(before) && before >= 1)
      ? [{ field: 'before', message: 'must be an integer >= 1' }]
      : []),
    ...(!(Number.isSafeInteger(limit) && limit >= 1)
      ? [{ field: 'limit', message: 'must be an integer >= 1' }]
      : []),
  ];
  return fields.length === 0
    ? undefined
    : new AppError('bad_request', 'invalid history page request', fields);
}

/**
 * The newest candidates (oldest first, all with seq < before) that fit the limit and the byte
 * bound, and whether older ones remain.
 */
export function chooseOlderPage(
  candidates: readonly OlderPageCandidate[],
  { limit, maxBytes = OLDER_PAGE_MAX_BYTES }: OlderPageRequest,
): { chosen: OlderPageCandidate[]; hasMore: boolean } {
  let start = candidates.length;
  let bytes = 0;
  while (start > 0 && candidates.length - start < limit) {
    const size = candidates[start - 1]!.size;
    if (start < candidates.length && bytes + size > maxBytes) break;
    bytes += size;
    start--;
  }
  return { chosen: candidates.slice(start), hasMore: start > 0 };
}
