import { Logger } from '@nestjs/common';

const WINDOW_MS = 60_000;
/** Sources remembered at once; past it the oldest is forgotten (and may log again). */
const MAX_SOURCES = 10_000;

/**
 * Logs refused client input at most once per source (a connection, a remote address, a subject)
 * per minute, as one warn line without a stack, counting what it held back: an attacker's frames
 * must not cost a log write each. Memory is bounded by `MAX_SOURCES`.
 */
export class BadInputLog {
  private readonly logger: Logger;
  /** Per source: when its window ends, and lines held back in it. Insertion order = age. */
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(context: string) {
    this.logger = new Logger(context);
  }

  note(source: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const window = this.windows.get(source);
    if (window && now < window.until) {
      window.suppressed++;
      return;
    }
    this.windows.delete(source);
    if (this.windows.size >= MAX_SOURCES) {
      this.windows.delete(this.windows.keys().next().value as string);
    }
    this.windows.set(source, { until: now + WINDOW_MS, suppressed: 0 });
    this.logger.warn({
      ...fields,
      ...(window && window.suppressed > 0 && { suppressedLastMinute: window.suppressed }),
      msg: 'bad input refused (logged once a minute per source)',
    });
  }
}
