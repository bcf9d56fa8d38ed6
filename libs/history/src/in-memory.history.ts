import { randomUUID } from 'node:crypto';
import { type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type Relay } from '@app/relay';
import {
  assertValidOptions,
  duplicateWindowMs,
  type HistoryOptions,
  type PageBounds,
  pageBounds,
} from './history-options';
import {
  type AppendOptions,
  type AppendResult,
  type ChannelHead,
  HistoryStore,
  type Replay,
  type StoredMessage,
} from './history-store';
import {
  chooseOlderPage,
  invalidOlderPageRequest,
  type OlderPage,
  type OlderPageRequest,
} from './older-page';
import { invalidSince } from './since';
import { LAST_SEQ_HEADER, liveSubject, MSG_ID_HEADER, SEQ_HEADER } from './subjects';

interface Entry extends StoredMessage {
  readonly storedAt: number;
}

interface ChannelLog {
  /** Kept messages, oldest first. */
  readonly entries: Entry[];
  /** Highest seq of this channel removed by either limit, 0 if none. */
  removedUpTo: number;
}

const MIN_SWEEP_MS = 1_000;
const MAX_SWEEP_MS = 60_000;

/**
 * History for a single process (no NATS) and unit tests, with JetStream's semantics: one seq
 * counter across channels, per-channel count limit, age limit, dedupe by `msgID`, and every append
 * relayed on `liveSubject(channel)` with the same headers the stream's republish adds. The epoch is
 * random per instance: a restart loses the history, so clients must see a new one.
 */
export class InMemoryHistory extends HistoryStore implements OnModuleInit, OnModuleDestroy {
  private readonly epoch = randomUUID();
  private lastSeq = 0;
  private readonly channels = new Map<string, ChannelLog>();
  /**
   * Highest seq removed by age in any channel. Age removes in seq order, so once a channel's log
   * is dropped (emptied by age) this still bounds what it lost, as JetStream's `first_seq` does.
   */
  private ageFloor = 0;
  /** msgID → seq and time of first append; Map order is insertion order, i.e. oldest first. */
  private readonly dedupe = new Map<string, { seq: number; at: number }>();
  private readonly dedupeWindowMs: number;
  private readonly page: PageBounds;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly relay: Relay,
    private readonly options: HistoryOptions,
  ) {
    super();
    assertValidOptions(options);
    this.dedupeWindowMs = duplicateWindowMs(options);
    this.page = pageBounds(options);
  }

  /** Sweeps expired messages of idle channels too; reads trim lazily, so this only bounds memory. */
  onModuleInit(): void {
    if (this.options.maxAgeMs === 0 || this.sweeper) return;
    const every = Math.min(Math.max(this.options.maxAgeMs, MIN_SWEEP_MS), MAX_SWEEP_MS);
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  override async publishStored(
    channel: string,
    data: Uint8Array,
    headers?: Readonly<Record<string, string>>,
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const now = Date.now();
    const msgID = options?.msgID;
    if (msgID !== undefined) {
      this.trimDedupe(now);
      const first = this.dedupe.get(msgID);
      if (first) return { seq: first.seq, duplicate: true };
    }
    const log = this.log(channel, now, true);
    const previous = log.entries.at(-1)?.seq ?? 0;
    const seq = ++this.lastSeq;
    // Copied like the broker would: the caller may reuse its buffer.
    const stored: Entry = {
      seq,
      data: data.slice(),
      storedAt: now,
      ...(headers && { headers: { ...headers } }),
    };
    log.entries.push(stored);
    const overflow = log.entries.length - this.options.maxMsgsPerChannel;
    if (overflow > 0) {
      const removed = log.entries.splice(0, overflow);
      log.removedUpTo = removed.at(-1)?.seq ?? log.removedUpTo;
    }
    if (msgID !== undefined) this.dedupe.set(msgID, { seq, at: now });

    await this.relay.publishEphemeral(liveSubject(channel), {
      data: stored.data,
      headers: {
        ...headers,
        ...(msgID !== undefined && { [MSG_ID_HEADER]: msgID }),
        [SEQ_HEADER]: String(seq),
        [LAST_SEQ_HEADER]: String(previous),
      },
    });
    return { seq, duplicate: false };
  }

  override head(channel: string): Promise<ChannelHead> {
    const log = this.log(channel, Date.now(), false);
    return Promise.resolve({ seq: log?.entries.at(-1)?.seq ?? 0, epoch: this.epoch });
  }

  override replay(channel: string, since: number, epoch?: string): Promise<Replay> {
    const invalid = invalidSince(since);
    if (invalid) return Promise.reject(invalid);
    const log = this.log(channel, Date.now(), false);
    const entries = log?.entries ?? [];
    const after = entries.filter((e) => e.seq > since);
    const messages = this.firstPage(after).map(toStoredMessage);
    const removedUpTo = log ? log.removedUpTo : this.ageFloor;
    const head = entries.at(-1)?.seq ?? 0;
    return Promise.resolve({
      messages,
      more: messages.length < after.length,
      seq: messages.at(-1)?.seq ?? Math.min(head, since),
      epoch: this.epoch,
      recovered:
        (epoch === undefined || epoch === this.epoch) &&
        since <= this.lastSeq &&
        removedUpTo <= since,
    });
  }

  override olderPage(channel: string, request: OlderPageRequest): Promise<OlderPage> {
    const invalid = invalidOlderPageRequest(request);
    if (invalid) return Promise.reject(invalid);
    const before = request.before ?? Number.POSITIVE_INFINITY;
    const older = (this.log(channel, Date.now(), false)?.entries ?? []).filter(
      (e) => e.seq < before,
    );
    const { chosen, hasMore } = chooseOlderPage(
      older.map((e) => ({ seq: e.seq, size: e.data.byteLength })),
      request,
    );
    const messages = older.slice(older.length - chosen.length).map(toStoredMessage);
    return Promise.resolve({ messages, hasMore, epoch: this.epoch });
  }

  /** The first entries within the page bounds; at least one, however large. */
  private firstPage(entries: Entry[]): Entry[] {
    let bytes = 0;
    let count = 0;
    for (const entry of entries) {
      bytes += entry.data.byteLength;
      if (count === this.page.messages || (count > 0 && bytes > this.page.bytes)) break;
      count++;
    }
    return entries.slice(0, count);
  }

  /** The channel's log with expired messages removed; created only when `create` (appends). */
  private log(channel: string, now: number, create: true): ChannelLog;
  private log(channel: string, now: number, create: boolean): ChannelLog | undefined;
  private log(channel: string, now: number, create: boolean): ChannelLog | undefined {
    let log = this.channels.get(channel);
    if (log) {
      this.trimAge(channel, log, now);
      log = this.channels.get(channel);
    }
    if (!log && create) {
      // A log dropped after age emptied it lost at most up to the age floor (see `ageFloor`).
      log = { entries: [], removedUpTo: this.ageFloor };
      this.channels.set(channel, log);
    }
    return log;
  }

  private trimAge(channel: string, log: ChannelLog, now: number): void {
    if (this.options.maxAgeMs === 0) return;
    const cutoff = now - this.options.maxAgeMs;
    let expired = 0;
    while (expired < log.entries.length && (log.entries[expired]?.storedAt ?? now) <= cutoff) {
      expired++;
    }
    if (expired === 0) return;
    const removed = log.entries.splice(0, expired);
    const last = removed.at(-1)?.seq ?? 0;
    log.removedUpTo = Math.max(log.removedUpTo, last);
    this.ageFloor = Math.max(this.ageFloor, last);
    if (log.entries.length === 0) this.channels.delete(channel);
  }

  private trimDedupe(now: number): void {
    for (const [id, first] of this.dedupe) {
      if (now - first.at < this.dedupeWindowMs) break;
      this.dedupe.delete(id);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [channel, log] of this.channels) this.trimAge(channel, log, now);
    this.trimDedupe(now);
  }
}

function toStoredMessage(entry: Entry): StoredMessage {
  return { seq: entry.seq, data: entry.data, ...(entry.headers && { headers: entry.headers }) };
}
