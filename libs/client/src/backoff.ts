export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/** Attempts past this add nothing: base * 2^30 is past any sensible `maxMs`. */
const MAX_EXPONENT = 30;

/**
 * Exponential back-off with full jitter: attempt n waits random(0, min(max, base * 2^n)), so that
 * clients dropped together do not come back together.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly settings: BackoffSettings,
    private readonly random: () => number = Math.random,
  ) {}

  /** The failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one more attempt. */
  next(): number {
    const ceiling = Math.min(this.settings.maxMs, this.settings.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, MAX_EXPONENT);
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
