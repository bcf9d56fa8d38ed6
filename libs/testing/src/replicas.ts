/** Anything a test starts and must stop: a `TestApp`, a child-process replica, … */
export interface Closable {
  close(): Promise<void>;
}

/** `[T, T]` for `count` 2, so `const [a, b] = replicas.apps` needs no `!`; `T[]` for a plain number. */
export type ReplicaTuple<T, N extends number, Acc extends T[] = []> = number extends N
  ? T[]
  : Acc['length'] extends N
    ? Acc
    : ReplicaTuple<T, N, [...Acc, T]>;

export interface Replicas<T extends Closable, N extends number> {
  /** In index order: `apps[i]` is what `start(i)` resolved with. */
  readonly apps: ReplicaTuple<T, N>;
  /** Closes every replica at once; rejects after all were tried if any close failed. */
  closeAll(): Promise<void>;
}

/**
 * Starts `count` replicas in parallel with `start(index)` (index from 0, for replica ids and
 * per-replica env). If any fails to start, the ones that did are closed before the error is
 * rethrown: a half-started cluster would otherwise keep jest alive with no handle to close it.
 */
export async function startReplicas<T extends Closable, N extends number>(
  count: N,
  start: (index: number) => Promise<T>,
): Promise<Replicas<T, N>> {
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`startReplicas: count must be a positive integer, got ${count}`);
  }
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => start(i)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await closeEach(started).catch(() => undefined); // the start failure is the one to report
    throw failed.reason;
  }
  let closing: Promise<void> | undefined;
  return {
    apps: started as ReplicaTuple<T, N>,
    // Memoized: an afterAll that runs after a test already closed the replicas must not close twice.
    closeAll: () => (closing ??= closeEach(started)),
  };
}

async function closeEach(replicas: readonly Closable[]): Promise<void> {
  const results = await Promise.allSettled(replicas.map((r) => r.close()));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) {
    throw new AggregateError(errors, `${errors.length} replica(s) failed to close`);
  }
}
