import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { retryDelay } from './webhook-backoff';
import type { WebhookBody } from './webhook-event';
import type { QueuedItem } from './webhook-queue';
import { SIGNATURE_HEADER, sign } from './webhook-signature';

/** The contract's answer time: a receiver slower than this failed. */
export const WEBHOOK_TIMEOUT_MS = 4_000;
/** Events per POST at most; more wait for the next batch. */
const MAX_BATCH = 100;

export interface WebhookSenderOptions {
  urls: readonly string[];
  secret: string;
  batchMs: number;
}

/**
 * Takes items off the queue, batches them per URL for `batchMs`, signs and POSTs each batch, and
 * settles every item: done on a 2xx, else back on the queue after a back-off, or dropped (logged,
 * counted) once retrying would pass 5 minutes from when it was stored.
 */
export class WebhookSender {
  private readonly logger = new Logger(WebhookSender.name);
  private readonly pending = new Map<string, { items: QueuedItem[]; timer: NodeJS.Timeout }>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sent: Counter;
  private readonly failed: Counter;
  private readonly dropped: Counter;

  constructor(
    private readonly options: WebhookSenderOptions,
    registry: Registry,
  ) {
    const registers = [registry];
    this.sent = new Counter({
      name: 'realtime_webhook_events_sent_total',
      help: 'Webhook events a receiver acknowledged with a 2xx',
      registers,
    });
    this.failed = new Counter({
      name: 'realtime_webhook_posts_failed_total',
      help: 'Webhook POSTs that failed (no 2xx within 4 s); their events are retried',
      registers,
    });
    this.dropped = new Counter({
      name: 'realtime_webhook_events_dropped_total',
      help: 'Webhook events given up after 5 minutes of failures (or for an unknown URL)',
      registers,
    });
  }

  /** One item from the queue. */
  take(item: QueuedItem): void {
    if (!this.options.urls.includes(item.url)) {
      // Queued by a replica configured otherwise: never POST to a URL this one was not given.
      this.drop([item], 'url not configured here');
      return;
    }
    let batch = this.pending.get(item.url);
    if (!batch) {
      const timer = setTimeout(() => this.flush(item.url), this.options.batchMs);
      this.pending.set(item.url, (batch = { items: [], timer }));
    }
    batch.items.push(item);
    if (batch.items.length >= MAX_BATCH) this.flush(item.url);
  }

  /** Sends what is batched and waits for the POSTs under way. */
  async close(): Promise<void> {
    for (const url of [...this.pending.keys()]) this.flush(url);
    await Promise.all(this.inFlight);
  }

  private flush(url: string): void {
    const batch = this.pending.get(url);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.pending.delete(url);
    const post = this.post(url, batch.items).finally(() => this.inFlight.delete(post));
    this.inFlight.add(post);
  }

  private async post(url: string, items: QueuedItem[]): Promise<void> {
    const timeMs = Date.now();
    const body: WebhookBody = { id: randomUUID(), timeMs, events: items.map((i) => i.event) };
    const raw = JSON.stringify(body);
    let failure: string | undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: sign(this.options.secret, raw, Math.floor(timeMs / 1000)),
        },
        body: raw,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) failure = `status ${response.status}`;
    } catch (error) {
      failure = (error as Error).message;
    }
    if (failure === undefined) {
      for (const item of items) item.done();
      this.sent.inc(items.length);
      return;
    }
    this.failed.inc();
    this.logger.warn({ url, events: items.length, failure, msg: 'webhook POST failed' });
    const expired: QueuedItem[] = [];
    for (const item of items) {
      const delay = retryDelay(item.attempt, item.storedAtMs);
      if (delay === undefined) expired.push(item);
      else item.retry(delay);
    }
    if (expired.length > 0) this.drop(expired, 'retried for 5 minutes');
  }

  private drop(items: QueuedItem[], reason: string): void {
    for (const item of items) item.done();
    this.dropped.inc(items.length);
    this.logger.error({
      url: items[0]?.url,
      events: items.map((i) => i.event.id),
      reason,
      msg: 'webhook events dropped',
    });
  }
}
