import { ClientError } from '@app/client';
import { waitFor as waitForState } from '@app/testing';

// Progress lines and bounded waits for the failover scenarios.

/** One line per phase on stdout (the suite's `no-console` rule applies to tests too). */
export function progress(scope: string): (line: string) => void {
  const started = Date.now();
  return (line) =>
    process.stdout.write(
      `[failover:${scope} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`,
    );
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `waitFor` from `@app/testing` with the positional form these specs use. */
export function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  detail?: () => string,
  pollMs = 50,
): Promise<number> {
  return waitForState(what, probe, { timeoutMs, everyMs: pollMs, detail });
}

/**
 * Runs an idempotent `attempt` (a join) until it neither fails with `unavailable` (the broker's
 * trouble: retry later) nor goes unanswered (`timeout`: a slow replay while a NATS node is down),
 * for at most `timeoutMs`; `onRefused` counts the refusals.
 */
const RETRYABLE = new Set(['unavailable', 'timeout']);

export async function retryIdempotent<T>(
  attempt: () => Promise<T>,
  timeoutMs: number,
  onRefused: (error: ClientError) => void = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = error instanceof ClientError && RETRYABLE.has(error.code);
      if (!retryable) throw error;
      if (Date.now() > deadline) throw error;
      onRefused(error);
      await delay(200);
    }
  }
}
