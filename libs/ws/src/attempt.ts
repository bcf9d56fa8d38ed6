/** `run()`'s result, or its synchronous throw as a rejected promise (to settle with the rest). */
export function attempt(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
