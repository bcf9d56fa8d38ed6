import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Limits and names of the history, usually from `AppConfig`. */
export interface HistoryOptions {
  /** JetStream stream name (ignored in memory). */
  readonly stream: string;
  /** Messages kept per channel; the oldest go first. */
  readonly maxMsgsPerChannel: number;
  /** Age after which messages are removed, in ms; 0 keeps them regardless of age. */
  readonly maxAgeMs: number;
  /** JetStream replicas of the stream (1 on a single server). */
  readonly replicas: number;
  /** History reads (replays) in flight at once per process. Default 32. */
  readonly maxConcurrentReads?: number;
  /** How long one broker request may take before the call fails as `unavailable`. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Messages per replay page. Default 100. */
  readonly replayPageMessages?: number;
  /**
   * Bytes per replay page (message data and headers). Default 512 KiB. A message larger than this
   * makes a page of its own.
   */
  readonly replayPageBytes?: number;
}

/** `HistoryModule.forRootAsync({ imports, inject, useFactory })` and the resolved options' token. */
export const {
  ConfigurableModuleClass: HistoryModuleDefinition,
  MODULE_OPTIONS_TOKEN: HISTORY_OPTIONS,
} = new ConfigurableModuleBuilder<HistoryOptions>().setClassMethodName('forRoot').build();

export const DEFAULT_MAX_CONCURRENT_READS = 32;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_REPLAY_PAGE_MESSAGES = 100;
export const DEFAULT_REPLAY_PAGE_BYTES = 512 * 1024;

/** The bounds of one replay page. */
export interface PageBounds {
  readonly messages: number;
  readonly bytes: number;
}

export function pageBounds(options: HistoryOptions): PageBounds {
  return {
    messages: options.replayPageMessages ?? DEFAULT_REPLAY_PAGE_MESSAGES,
    bytes: options.replayPageBytes ?? DEFAULT_REPLAY_PAGE_BYTES,
  };
}
/** JetStream's dedupe window for `msgID`, capped by `maxAgeMs` (the server refuses a longer one). */
export const MAX_DUPLICATE_WINDOW_MS = 5 * 60_000;

/** The dedupe window both implementations use: 5 minutes, or `maxAgeMs` when that is shorter. */
export function duplicateWindowMs(options: HistoryOptions): number {
  return options.maxAgeMs > 0
    ? Math.min(MAX_DUPLICATE_WINDOW_MS, options.maxAgeMs)
    : MAX_DUPLICATE_WINDOW_MS;
}

/** Throws at start-up on limits that would make history silently misbehave. */
export function assertValidOptions(options: HistoryOptions): void {
  const bad: string[] = [];
  const positiveInt = (value: number | undefined, name: string, optional = false): void => {
    if (optional && value === undefined) return;
    if (!Number.isSafeInteger(value) || (value ?? 0) < 1)
      bad.push(`${name} must be an integer >= 1`);
  };
  if (!/^[A-Za-z0-9_-]+$/.test(options.stream)) bad.push('stream must match [A-Za-z0-9_-]+');
  positiveInt(options.maxMsgsPerChannel, 'maxMsgsPerChannel');
  positiveInt(options.replicas, 'replicas');
  positiveInt(options.maxConcurrentReads, 'maxConcurrentReads', true);
  positiveInt(options.requestTimeoutMs, 'requestTimeoutMs', true);
  positiveInt(options.replayPageMessages, 'replayPageMessages', true);
  positiveInt(options.replayPageBytes, 'replayPageBytes', true);
  if (!Number.isSafeInteger(options.maxAgeMs) || options.maxAgeMs < 0) {
    bad.push('maxAgeMs must be an integer >= 0');
  }
  if (bad.length > 0) throw new Error(`invalid history options: ${bad.join('; ')}`);
}
