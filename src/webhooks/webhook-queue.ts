import type { WebhookItem } from './webhook-event';

/** One queued item handed to the sender, to be acknowledged once, one way or the other. */
export interface QueuedItem extends WebhookItem {
  /** When it was stored, in ms since the epoch: the retry window counts from here. */
  storedAtMs: number;
  /** Deliveries so far, this one included (1 on the first). */
  attempt: number;
  /** Delivered, or given up: never again. */
  done(): void;
  /** Hand it out again after `delayMs`, to this replica or another. */
  retry(delayMs: number): void;
}

/**
 * The durable queue between the replica that decides a transition and the one that sends it:
 * JetStream work queue with NATS, memory in embedded mode.
 */
export abstract class WebhookQueue {
  /** Stores `items`; `dedupeId` makes a repeated enqueue of the same decision a no-op. */
  abstract enqueue(items: WebhookItem[], dedupeId: string): Promise<void>;
  /** Starts handing items to `onItem`, each to one replica of the cluster at a time. */
  abstract consume(onItem: (item: QueuedItem) => void): Promise<void>;
  abstract close(): Promise<void>;
}
