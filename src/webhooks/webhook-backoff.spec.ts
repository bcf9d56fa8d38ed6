import { RETRY_WINDOW_MS, retryDelay } from './webhook-backoff';

describe(retryDelay.name, () => {
  const stored = 1_000_000;

  it('doubles from 1 s up to 60 s, half of it random', () => {
    const low = (attempt: number) => retryDelay(attempt, stored, stored, () => 0);
    const high = (attempt: number) => retryDelay(attempt, stored, stored, () => 1);
    expect([1, 2, 3, 4].map(low)).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map(high)).toEqual([1000, 2000, 4000, 8000]);
    expect(high(20)).toBe(60_000);
    expect(low(20)).toBe(30_000);
  });

  it('gives up once the retry would land past 5 minutes from when it was stored', () => {
    expect(retryDelay(3, stored, stored + RETRY_WINDOW_MS - 5000, () => 0)).toBe(2000);
    expect(retryDelay(3, stored, stored + RETRY_WINDOW_MS - 1000, () => 0)).toBeUndefined();
  });
});
