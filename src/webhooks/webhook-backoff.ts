/** How long a receiver may keep failing before a batch is dropped (the contract's 5 minutes). */
export const RETRY_WINDOW_MS = 5 * 60_000;
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60_000;

/**
 * The wait before delivery `attempt + 1`: exponential from 1 s, capped at 60 s, with half of it
 * random so that items failed together do not come back together. Undefined once the retry would
 * land past the window counted from `storedAtMs`: then the item is dropped.
 */
export function retryDelay(
  attempt: number,
  storedAtMs: number,
  now = Date.now(),
  random = Math.random,
): number | undefined {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  const delay = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return now + delay - storedAtMs > RETRY_WINDOW_MS ? undefined : delay;
}
