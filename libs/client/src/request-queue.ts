/**
 * Requests waiting to be sent, oldest first, at most `capacity` of them: a client that cannot send
 * (disconnected, or paced) refuses more instead of growing without bound.
 */
export class RequestQueue<T> {
  private items: T[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('the queue size must be a positive integer');
    }
  }

  get length(): number {
    return this.items.length;
  }

  /** Adds a request at the end; false when the queue is full. */
  push(item: T): boolean {
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /**
   * Puts requests back at the front (sent, then cut off by a disconnect), ahead of newer ones. They
   * were accepted once, so they may take the queue past its capacity rather than be dropped.
   */
  requeue(items: readonly T[]): void {
    this.items = [...items, ...this.items];
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }
}

/**
 * A token bucket that paces outgoing frames below the server's rate limit: past its limit the
 * server answers `rate_limited`, and far past it closes the connection (1008).
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) {
      throw new RangeError('rate.perSecond must be > 0 and rate.burst >= 1');
    }
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes a token if there is one: 0. Otherwise the ms until there is one, taking nothing. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /** Takes a token even when there is none (a resume must not wait behind queued requests). */
  force(): void {
    this.refill();
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000,
    );
    this.updatedAt = now;
  }
}
