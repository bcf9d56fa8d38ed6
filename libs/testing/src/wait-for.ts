export interface WaitOptions {
  timeoutMs?: number;
  /** Pause between probes. */
  everyMs?: number;
  /** More to say when it times out (the state seen last, say). */
  detail?: () => string;
}

/**
 * Polls `probe` until it returns true, within a bound, and fails naming what it waited for. For
 * state that has no event to await (HTTP readiness, a metric, a replica's report); anything that
 * sends a frame or emits an event should be awaited instead. Resolves with the time it took, in ms.
 */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  { timeoutMs = 15_000, everyMs = 50, detail }: WaitOptions = {},
): Promise<number> {
  const started = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return Date.now() - started;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started > timeoutMs) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const more = detail ? `: ${detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
