import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
} from 'nats';
import type { StoredMessage } from './history-store';
import { toStoredMessage } from './jetstream-page-reader';
import { chooseOlderPage, type OlderPageCandidate, type OlderPageRequest } from './older-page';

/** Header a headers-only consumer puts on each message: the size of the body it left out. */
const MSG_SIZE_HEADER = 'Nats-Msg-Size';
/** The server removes a paging consumer we failed to delete (process died) after this idle time. */
const PAGE_CONSUMER_IDLE_MS = 10_000;
/** nats.js refuses a pull that expires sooner. */
const MIN_FETCH_EXPIRES_MS = 1_000;

export interface PageClients {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/**
 * Reads one page of a channel backwards on nats-server 2.9, which can only read a subject forwards
 * (no "previous by subject" get, no batch get). JetStream seqs are stream-wide, so where the
 * page starts is unknown until the channel is scanned: a headers-only consumer lists its kept
 * messages (seq and body size, a few dozen bytes each, at most the per-channel limit), the page is
 * chosen from that list within the count and byte bounds, and only then are its bodies read, with
 * a second consumer starting at its first seq. So the bytes read are the page's bodies plus small
 * headers, never the channel's whole history.
 */
export class JetStreamOlderPageReader {
  constructor(
    private readonly stream: string,
    private readonly timeoutMs: number,
  ) {}

  async read(
    clients: PageClients,
    subject: string,
    request: OlderPageRequest,
  ): Promise<{ messages: StoredMessage[]; hasMore: boolean }> {
    const before = request.before ?? Number.POSITIVE_INFINITY;
    const candidates: OlderPageCandidate[] = [];
    await this.consume(clients, subject, { headers_only: true }, (m) => {
      if (m.seq >= before) return false;
      candidates.push({ seq: m.seq, size: Number(m.headers?.get(MSG_SIZE_HEADER) ?? 0) });
      return true;
    });
    const { chosen, hasMore } = chooseOlderPage(candidates, request);
    const first = chosen[0];
    const last = chosen.at(-1);
    if (!first || !last) return { messages: [], hasMore };
    const messages: StoredMessage[] = [];
    // Messages trimmed since the scan are simply missing; nothing past the chosen ones is read.
    await this.consume(
      clients,
      subject,
      { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: first.seq },
      (m) => {
        if (m.seq > last.seq) return false;
        messages.push(toStoredMessage(m.seq, m.data, m.headers));
        return m.seq < last.seq;
      },
    );
    return { messages, hasMore };
  }

  /**
   * Streams the subject's kept messages through an ephemeral pull consumer (deleted at once)
   * until `take` returns false or none are pending. `num_pending` bounds the fetch, and is itself
   * bounded by the per-channel limit.
   */
  private async consume(
    { js, jsm }: PageClients,
    subject: string,
    config: Partial<ConsumerConfig>,
    take: (m: JsMsg) => boolean,
  ): Promise<void> {
    const info = await jsm.consumers.add(this.stream, {
      filter_subject: subject,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(PAGE_CONSUMER_IDLE_MS),
      mem_storage: true,
      ...config,
    });
    try {
      if (info.num_pending === 0) return;
      const batch = await js.consumers.getPullConsumerFor(info).fetch({
        max_messages: info.num_pending,
        expires: Math.max(this.timeoutMs, MIN_FETCH_EXPIRES_MS),
      });
      for await (const m of batch) {
        // pending 0: the rest were trimmed meanwhile; waiting for them would only hit `expires`.
        if (!take(m) || m.info.pending === 0) break;
      }
    } finally {
      // Harmless when it fails: inactive_threshold removes it shortly.
      await jsm.consumers.delete(this.stream, info.name).catch(() => undefined);
    }
  }
}
