/**
 * One clock for every process of the benchmark: `process.hrtime` reads CLOCK_MONOTONIC, which the
 * Linux kernel shares between all processes of the machine, so a send time taken in the publisher
 * and a receive time taken in a subscriber are directly comparable (µs resolution, no wall-clock
 * steps). Latencies are reported in ms computed from these µs values.
 */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until the monotonic clock reaches `atUs`. */
export function sleepUntil(atUs: number): Promise<void> {
  return sleep((atUs - monoUs()) / 1000);
}

/** Rejects with `what` when `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
