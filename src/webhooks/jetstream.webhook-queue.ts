import { Logger } from '@nestjs/common';
import {
  AckPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { parseItem, type WebhookItem } from './webhook-event';
import { WebhookQueue, type QueuedItem } from './webhook-queue';

export const WEBHOOK_STREAM = 'WEBHOOKS';
export const WEBHOOK_SUBJECT = 'webhooks.events';
/** The one durable pull consumer every replica's sender shares: each item goes to one of them. */
const CONSUMER = 'webhook-sender';
/** A sender holds an item at most a batch window plus one 4 s POST: past this it goes elsewhere. */
const ACK_WAIT_MS = 30_000;
/** Nothing is retried past 5 minutes, so nothing older needs keeping. */
const MAX_AGE_MS = 10 * 60_000;
const encoder = new TextEncoder();

/**
 * A JetStream work-queue stream: an item stays stored until a sender acknowledges it, so an event
 * outlives the replica that decided it and the one that was sending it.
 */
export class JetStreamWebhookQueue extends WebhookQueue {
  private readonly logger = new Logger(JetStreamWebhookQueue.name);
  private messages?: ConsumerMessages;
  private ready?: Promise<NatsConnection>;

  /** `replicas`: copies of the stream on the NATS nodes (`HISTORY_REPLICAS`). */
  constructor(
    private readonly connect: () => Promise<NatsConnection>,
    private readonly replicas = 1,
  ) {
    super();
  }

  async enqueue(items: WebhookItem[], dedupeId: string): Promise<void> {
    const js = (await this.setUp()).jetstream();
    await Promise.all(
      items.map((item, i) =>
        js.publish(WEBHOOK_SUBJECT, encoder.encode(JSON.stringify(item)), {
          msgID: `${dedupeId}:${i}`,
        }),
      ),
    );
  }

  async consume(onItem: (item: QueuedItem) => void): Promise<void> {
    const nc = await this.setUp();
    const consumer = await nc.jetstream().consumers.get(WEBHOOK_STREAM, CONSUMER);
    this.messages = await consumer.consume({ max_messages: 256 });
    void (async () => {
      for await (const message of this.messages!) {
        const item = this.queued(message);
        if (item) onItem(item);
      }
    })().catch((error: unknown) =>
      this.logger.error({ err: error, msg: 'webhook consumer stopped' }),
    );
  }

  async close(): Promise<void> {
    await this.messages?.close();
  }

  private queued(message: JsMsg): QueuedItem | undefined {
    const item = parseItem(message.data);
    if (!item) {
      this.logger.warn({ seq: message.seq, msg: 'malformed webhook item dropped' });
      message.term();
      return undefined;
    }
    return {
      ...item,
      storedAtMs: Math.floor(message.info.timestampNanos / 1e6),
      attempt: message.info.redeliveryCount,
      done: () => message.ack(),
      retry: (delayMs) => message.nak(delayMs),
    };
  }

  /** Creates the stream and the consumer once (idempotent across replicas: same config). */
  private setUp(): Promise<NatsConnection> {
    this.ready ??= (async () => {
      const nc = await this.connect();
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({
        name: WEBHOOK_STREAM,
        subjects: [WEBHOOK_SUBJECT],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        max_age: MAX_AGE_MS * 1e6,
        num_replicas: this.replicas,
      });
      await jsm.consumers.add(WEBHOOK_STREAM, {
        durable_name: CONSUMER,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ACK_WAIT_MS * 1e6,
        max_ack_pending: 1000,
      });
      return nc;
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }
}
