/**
 * Publishing: a message stored in its channels' history (which relays it to every replica),
 * admitted against the appends in flight, answered `unavailable` when the broker drops meanwhile.
 * The single-channel path, nearly every message, builds no arrays; no append registers a listener.
 */
import { randomUUID } from 'node:crypto';
import type { HistoryStore } from '@app/history';
import type { Published, StoredData, StoredEvent } from '@app/protocol';
import type { Connection } from '@app/ws';
import type { BrokerGuard } from './broker-guard';
import { ORIGIN_HEADER } from './channel';
import type { ChannelsMetrics } from './channels-metrics';
import { encodeStored } from './frame-codec';
import type { PublishAdmission } from './publish-admission';

export interface PublishOptions {
  /** Not sent its own message. */
  origin?: Connection;
  /** The message id (one message stored in several channels keeps one id); default a new UUID. */
  id?: string;
}

/** One channel a message is stored in, with its dedupe key there. */
export interface PublishTarget {
  channel: string;
  msgID?: string;
}

export class ChannelPublisher {
  constructor(
    private readonly history: HistoryStore,
    private readonly broker: BrokerGuard,
    private readonly admission: PublishAdmission,
    private readonly metrics: ChannelsMetrics,
  ) {}

  async publish<E extends StoredEvent>(
    channel: string,
    event: E,
    data: StoredData<E>,
    options: PublishOptions & { msgID?: string },
  ): Promise<Published> {
    this.broker.assertConnected();
    this.admission.admit(1);
    const started = performance.now();
    try {
      const id = options.id ?? randomUUID();
      const stored = encodeStored(event, { id, ...data, ts: Date.now() });
      return { id, seq: await this.append(channel, stored, originHeaders(options), options.msgID) };
    } finally {
      this.admission.release(1, performance.now() - started);
    }
  }

  async publishAll<E extends StoredEvent>(
    targets: readonly PublishTarget[],
    event: E,
    data: StoredData<E>,
    options: PublishOptions,
  ): Promise<Published[]> {
    this.broker.assertConnected();
    this.admission.admit(targets.length);
    const started = performance.now();
    try {
      const id = options.id ?? randomUUID();
      const stored = encodeStored(event, { id, ...data, ts: Date.now() });
      const headers = originHeaders(options);
      // The slots are held until every append has settled, failed ones included.
      const settled = await Promise.allSettled(
        targets.map(({ channel, msgID }) => this.append(channel, stored, headers, msgID)),
      );
      return settled.map((result) => {
        if (result.status === 'rejected') throw result.reason;
        return { id, seq: result.value };
      });
    } finally {
      this.admission.release(targets.length, performance.now() - started);
    }
  }

  /** Appends `stored` to one channel's history and observes how long it took; resolves its seq. */
  private async append(
    channel: string,
    stored: Buffer,
    headers: Readonly<Record<string, string>> | undefined,
    msgID: string | undefined,
  ): Promise<number> {
    const started = performance.now();
    let ok = false;
    try {
      const { seq } = await this.broker.untilLost(
        this.history.publishStored(channel, stored, headers, { msgID }),
      );
      ok = true;
      return seq;
    } finally {
      this.metrics.appended(performance.now() - started, ok);
    }
  }
}

/** The headers every copy of a message carries: its sender's connection, not sent its own echo. */
function originHeaders({ origin }: PublishOptions): Record<string, string> | undefined {
  return origin ? { [ORIGIN_HEADER]: origin.id } : undefined;
}
