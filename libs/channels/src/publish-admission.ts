import { AppError } from '@app/core';

/** What a refused publisher is told to wait, at least and at most (ms). */
const MIN_RETRY_AFTER_MS = 50;
const MAX_RETRY_AFTER_MS = 2_000;
/** Weight of the newest append in the moving average of append times. */
const EWMA_WEIGHT = 0.05;

/**
 * Bounds the history appends in flight on this replica. Past the limit a publish is refused at
 * once with `overloaded` (nothing stored) instead of queueing: a queue would hold memory and push
 * every answer past its timeout, and a timed-out answer cannot say whether the message was stored.
 */
export class PublishAdmission {
  private inFlight = 0;
  /** Moving average of how long an admitted append takes (ms): the hint for `retryAfterMs`. */
  private appendMs = MIN_RETRY_AFTER_MS;

  /** `onRefused` counts refusals (a metric). */
  constructor(
    readonly limit: number,
    private readonly onRefused: () => void = () => undefined,
  ) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError('the publish in-flight limit must be an integer >= 1');
    }
  }

  get current(): number {
    return this.inFlight;
  }

  /**
   * Takes `count` slots at once (a direct message is stored twice: both copies or neither); throws
   * `overloaded` when they do not fit. Each admission is released once its appends have settled.
   */
  admit(count: number): void {
    if (this.inFlight + count > this.limit) {
      this.onRefused();
      throw new AppError(
        'overloaded',
        `${this.limit} messages are being stored on this replica: nothing was stored, retry later`,
        undefined,
        { retryAfterMs: this.retryAfterMs() },
      );
    }
    this.inFlight += count;
  }

  /** Gives back the `count` slots of one admission whose appends took `elapsedMs`. */
  release(count: number, elapsedMs: number): void {
    this.inFlight -= count;
    this.appendMs += (elapsedMs - this.appendMs) * EWMA_WEIGHT;
  }

  /** About the time the appends now in flight take to drain: then there is room again. */
  private retryAfterMs(): number {
    const ms = Math.round(this.appendMs * 2);
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, ms));
  }
}
