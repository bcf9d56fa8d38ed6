/**
 * Closes connections whose token expired (generic for tests). JWT `exp` has one-second resolution, so one shared
 * one-second tick over buckets keyed by `exp` is exact and costs no timer per connection.
 */
export class ExpiryWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly onExpired: (item: T) => void) {}

  start(): void {
    this.timer = setInterval(() => this.tick(Math.floor(Date.now() / 1000)), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  schedule(conn: T, expiresAt: number | undefined): void {
    if (expiresAt === undefined) return;
    let bucket = this.buckets.get(expiresAt);
    if (!bucket) this.buckets.set(expiresAt, (bucket = new Set()));
    bucket.add(conn);
  }

  cancel(conn: T, expiresAt: number | undefined): void {
    if (expiresAt === undefined) return;
    const bucket = this.buckets.get(expiresAt);
    bucket?.delete(conn);
    if (bucket?.size === 0) this.buckets.delete(expiresAt);
  }

  /** Closes everything whose `exp` is at or before `nowSeconds`. */
  tick(nowSeconds: number): void {
    for (const [expiresAt, bucket] of this.buckets) {
      if (expiresAt > nowSeconds) continue;
      this.buckets.delete(expiresAt);
      for (const conn of bucket) this.onExpired(conn);
    }
  }
}
