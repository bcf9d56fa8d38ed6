import type { WebhookItem } from './webhook-event';
import { WebhookQueue, type QueuedItem } from './webhook-queue';

/** Embedded mode (no NATS): the queue is this process; a restart loses what it held. */
export class InMemoryWebhookQueue extends WebhookQueue {
  private onItem?: (item: QueuedItem) => void;
  private readonly backlog: QueuedItem[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  enqueue(items: WebhookItem[]): Promise<void> {
    const storedAtMs = Date.now();
    for (const item of items) this.hand(this.queued(item, storedAtMs, 1));
    return Promise.resolve();
  }

  consume(onItem: (item: QueuedItem) => void): Promise<void> {
    this.onItem = onItem;
    for (const item of this.backlog.splice(0)) onItem(item);
    return Promise.resolve();
  }

  close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.onItem = undefined;
    return Promise.resolve();
  }

  private hand(item: QueuedItem): void {
    if (this.onItem) this.onItem(item);
    else this.backlog.push(item);
  }

  private queued(item: WebhookItem, storedAtMs: number, attempt: number): QueuedItem {
    return {
      ...item,
      storedAtMs,
      attempt,
      done: () => undefined,
      retry: (delayMs) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.hand(this.queued(item, storedAtMs, attempt + 1));
        }, delayMs);
        this.timers.add(timer);
      },
    };
  }
}
