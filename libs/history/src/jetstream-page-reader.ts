import { Logger } from '@nestjs/common';
import {
  AckPolicy,
  createInbox,
  DeliverPolicy,
  JSONCodec,
  type JetStreamManager,
  type Msg,
  type MsgHdrs,
  type MsgRequest,
  NatsError,
  type NatsConnection,
  nanos,
  type StreamInfo,
} from 'nats';
import type { PageBounds } from './history-options';
import type { StoredMessage } from './history-store';

/** JetStream API error code for "no message found" (server `err_code`). */
export const NO_MESSAGE_FOUND = 10037;

/**
 * A page starts with up to this many `STREAM.MSG.GET`s before it switches to a consumer: most
 * resumes miss 0-3 messages, and an empty one is a single get.
 */
const DIRECT_READS = 4;
/** The server removes a page consumer we failed to delete (process died) after this idle time. */
const PAGE_CONSUMER_IDLE_MS = 10_000;
/**
 * After a page consumer fails (a cluster node is down), pages are read with gets for this long
 * instead of paying the consumer request's timeout again on every page.
 */
const CONSUMER_BACKOFF_MS = 30_000;
/** Continuations remembered at most (oldest forgotten first): one per replay in progress. */
const MAX_CONTINUATIONS = 1_024;
const pullCodec = JSONCodec<{ batch: number; max_bytes: number; no_wait: boolean }>();

export interface Page {
  readonly messages: StoredMessage[];
  /** Whether messages after the page's last one were kept when it was read. */
  readonly more: boolean;
}

/**
 * Reads one bounded page of a channel's history: at most `bounds.messages` messages and about
 * `bounds.bytes` bytes (a larger message makes a page of its own), so a replay never has more
 * than a page in flight on the connection, whatever the backlog.
 *
 * Measured on nats-server 2.9.10 on this (shared, loaded) machine, 1,000 messages of 20 KB on one
 * subject, pages of 100 messages / 512 KiB: one `STREAM.MSG.GET` per message 1.1-2.4 s; this
 * (gets for the first messages, then a consumer and one raw pull per page) 0.15-0.55 s; one
 * consumer across all pages 0.06-0.33 s. A consumer per page keeps each page a self-contained
 * read that concurrent resumes of the same range can share, and that a client too slow to ask for
 * the next page within a consumer's idle limit cannot break. docs/reliability.md has the table.
 *
 * The pull is sent raw (`no_wait`, `batch`, `max_bytes`): nats.js 2.29's `fetch` throws away the
 * messages of a pull that 2.9.10 ends with 409 "message size exceeds maxbytes", which is how a
 * byte-bounded pull ends when the next message does not fit. The message that did not fit is not
 * consumed; it starts the next page.
 */
export class JetStreamPageReader {
  private readonly logger = new Logger(JetStreamPageReader.name);
  /** When a page consumer last failed. */
  private consumerFailedAt = Number.NEGATIVE_INFINITY;
  /** `subject\0seq` where a page ended with more to come: where the next page starts. */
  private readonly continuations = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly bounds: PageBounds,
    private readonly timeoutMs: number,
  ) {}

  /** The first page of `subject`'s kept messages with seq >= `start`. */
  async read(subject: string, start: number): Promise<Page> {
    const page = await this.readPage(subject, start);
    const last = page.messages.at(-1);
    if (page.more && last) this.remember(`${subject}\u0000${last.seq + 1}`);
    return page;
  }

  private async readPage(subject: string, start: number): Promise<Page> {
    // The next page of a long replay goes straight to a consumer: the gets are for short resumes.
    const head = this.continuations.delete(`${subject}\u0000${start}`)
      ? { messages: [], more: true, bytes: 0 }
      : await this.getPage(subject, start, DIRECT_READS, 0);
    if (!head.more || head.bytes >= this.bounds.bytes) return head;
    const next = (head.messages.at(-1)?.seq ?? start - 1) + 1;
    const batch = this.bounds.messages - head.messages.length;
    if (batch <= 0) return head;
    const rest = await this.restOfPage(subject, next, batch, head.bytes);
    // A message larger than a whole page ends the pull before it: it makes a page of its own.
    if (rest.more && head.messages.length + rest.messages.length === 0) {
      return this.getPage(subject, next, 1, 0);
    }
    return { messages: [...head.messages, ...rest.messages], more: rest.more };
  }

  private remember(continuation: string): void {
    this.continuations.add(continuation);
    if (this.continuations.size <= MAX_CONTINUATIONS) return;
    for (const oldest of this.continuations) {
      this.continuations.delete(oldest);
      return;
    }
  }

  /** The stream's state, with `subject`'s message count in `state.subjects`. */
  streamInfo(subject: string): Promise<StreamInfo> {
    return this.jsm.streams.info(this.stream, { subjects_filter: subject });
  }

  /** The seq of the first kept message of `subject` with seq >= `seq`, if any. */
  async firstSeqFrom(subject: string, seq: number): Promise<number | undefined> {
    const m = await this.getOrUndefined(
      this.jsm.streams.getMessage(this.stream, nextBySubject(subject, seq)),
    );
    return m?.seq;
  }

  /** The seq of the last kept message of `subject`, 0 when none. */
  async lastSeq(subject: string): Promise<number> {
    const m = await this.getOrUndefined(
      this.jsm.streams.getMessage(this.stream, { last_by_subj: subject }),
    );
    return m?.seq ?? 0;
  }

  private async restOfPage(
    subject: string,
    start: number,
    batch: number,
    used: number,
  ): Promise<Page> {
    if (Date.now() - this.consumerFailedAt < CONSUMER_BACKOFF_MS) {
      return this.getPage(subject, start, batch, used);
    }
    try {
      return await this.pull(subject, start, batch, used);
    } catch (err) {
      // nats-server 2.9 may place an ephemeral consumer on a cluster node that is down, and keeps
      // doing so while it is: page with gets instead, which only need the stream's leader.
      this.consumerFailedAt = Date.now();
      this.logger.warn({
        subject,
        err: (err as Error).message,
        backoffMs: CONSUMER_BACKOFF_MS,
        msg: 'replay consumer failed, paging with gets for a while',
      });
      return this.getPage(subject, start, batch, used);
    }
  }

  /**
   * Up to `limit` messages from seq `start` on, one get each, within the bytes left after `used`.
   * `more` is true when a bound stopped it (more may follow), false when the channel ended.
   */
  private async getPage(
    subject: string,
    start: number,
    limit: number,
    used: number,
  ): Promise<Page & { bytes: number }> {
    const messages: StoredMessage[] = [];
    let bytes = used;
    let next = start;
    while (messages.length < limit && bytes < this.bounds.bytes) {
      const m = await this.getOrUndefined(
        this.jsm.streams.getMessage(this.stream, nextBySubject(subject, next)),
      );
      if (!m) return { messages, more: false, bytes };
      messages.push(toStoredMessage(m.seq, m.data, m.header));
      bytes += m.data.byteLength;
      next = m.seq + 1;
    }
    return { messages, more: true, bytes };
  }

  /** Up to `batch` messages from `start` on with a short-lived consumer and one pull. */
  private async pull(subject: string, start: number, batch: number, used: number): Promise<Page> {
    const info = await this.jsm.consumers.add(this.stream, {
      filter_subject: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(PAGE_CONSUMER_IDLE_MS),
      mem_storage: true,
    });
    try {
      if (info.num_pending === 0) return { messages: [], more: false };
      return await this.pullFrom(info.name, batch, this.bounds.bytes - used);
    } finally {
      // Not awaited: the page is read; inactive_threshold removes it should this fail.
      this.jsm.consumers.delete(this.stream, info.name).catch((err: unknown) => {
        this.logger.debug({ msg: 'page consumer not deleted', consumer: info.name, err });
      });
    }
  }

  private async pullFrom(consumer: string, batch: number, maxBytes: number): Promise<Page> {
    const inbox = createInbox();
    const sub = this.nc.subscribe(inbox, { timeout: this.timeoutMs });
    this.nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${consumer}`,
      pullCodec.encode({ batch, max_bytes: Math.max(maxBytes, 1), no_wait: true }),
      { reply: inbox },
    );
    const messages: StoredMessage[] = [];
    let pending = 1;
    try {
      for await (const m of sub) {
        const status = m.headers?.code ?? 0;
        // 404 no messages, 408 the pull ended, 409 the next message exceeds the bytes left.
        if (status !== 0) {
          if (status >= 500)
            throw new NatsError(m.headers?.description ?? 'pull failed', `${status}`);
          break;
        }
        const meta = ackMeta(m);
        messages.push(toStoredMessage(meta.seq, m.data, m.headers));
        pending = meta.pending;
        if (messages.length >= batch || pending === 0) break;
      }
    } finally {
      sub.unsubscribe();
    }
    return { messages, more: pending > 0 };
  }

  private async getOrUndefined<T>(request: Promise<T>): Promise<T | undefined> {
    try {
      return await request;
    } catch (err) {
      if (err instanceof NatsError && err.api_error?.err_code === NO_MESSAGE_FOUND)
        return undefined;
      throw err;
    }
  }
}

/**
 * Stream seq and pending count from a consumer message's reply subject,
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`.
 */
function ackMeta(m: Msg): { seq: number; pending: number } {
  const tokens = m.reply?.split('.') ?? [];
  const seq = Number(tokens.at(-4));
  const pending = Number(tokens.at(-1));
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(pending)) {
    throw new Error(`not a JetStream consumer message: reply ${m.reply ?? 'missing'}`);
  }
  return { seq, pending };
}

/**
 * A `STREAM.MSG.GET` for the first message on `subject` with seq >= `seq`. The server supports
 * `next_by_subj` there since 2.9 (checked on 2.9.10), but nats.js 2.29 types it only for direct
 * get, which would need `allow_direct` and may answer from a lagging follower.
 */
function nextBySubject(subject: string, seq: number): MsgRequest {
  return { next_by_subj: subject, seq } as unknown as MsgRequest;
}

/** Broker metadata (`Nats-*`) is dropped so stored messages read the same as in memory. */
export function toStoredMessage(seq: number, data: Uint8Array, hdrs?: MsgHdrs): StoredMessage {
  let headers: Record<string, string> | undefined;
  for (const [k, values] of hdrs ?? []) {
    if (k.toLowerCase().startsWith('nats-')) continue;
    headers ??= {};
    headers[k] = values[0] ?? '';
  }
  return { seq, data, ...(headers && { headers }) };
}
