export interface RateLimit {
  /** Sustained frames per second. */
  perSecond: number;
  /** Frames allowed at once above the sustained rate. */
  burst: number;
}

export type RateVerdict = 'ok' | 'limited' | 'abuse';

/** How many times over the rate a client must go, within one second, to be disconnected. */
const ABUSE_FACTOR = 10;

/**
 * Token bucket per connection, plus a one-second window that spots abuse. Plain numbers, no timers:
 * idle connections cost nothing.
 */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;
  private windowStart: number;
  private windowCount = 0;

  constructor(
    private readonly limit: RateLimit,
    now = Date.now(),
  ) {
    this.tokens = limit.burst;
    this.refilledAt = now;
    this.windowStart = now;
  }

  take(now = Date.now()): RateVerdict {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (++this.windowCount > this.limit.perSecond * ABUSE_FACTOR) return 'abuse';
    this.tokens = Math.min(
      this.limit.burst,
      this.tokens + (Math.max(0, now - this.refilledAt) * this.limit.perSecond) / 1000,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return 'limited';
    this.tokens -= 1;
    return 'ok';
  }
}
