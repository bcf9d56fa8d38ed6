import { DEFAULT_MAX_CONCURRENT_READS, type HistoryOptions } from './history-options';
import type { ChannelHead, Replay } from './history-store';
import type { JetStreamConnections } from './jetstream-connections';
import { JetStreamOlderPageReader } from './jetstream-older-page';
import type { HistoryStream } from './jetstream-stream';
import { invalidOlderPageRequest, type OlderPage, type OlderPageRequest } from './older-page';
import { Semaphore } from './semaphore';
import { invalidSince } from './since';
import { storeSubject } from './subjects';

interface SharedRead {
  /** `tick` when the read took its slot; +Infinity while it waits for one. */
  startedAt: number;
  promise: Promise<Replay>;
}

/**
 * Reads of the history: the head, replay pages (a resume) and older pages (`chat.history`), under
 * one bound on reads in flight. Identical replay pages in flight are read once.
 */
export class JetStreamReads {
  private readonly reads: Semaphore;
  private readonly olderPages: JetStreamOlderPageReader;
  /**
   * Identical page reads in flight share one read (by channel/since/epoch): a reconnect storm asks
   * the same thing N times, and its readers then ask for the same next pages.
   */
  private readonly inflight = new Map<string, SharedRead>();
  /** Orders page reads against the calls that join them (see `replay`). */
  private tick = 0;

  constructor(
    private readonly connections: JetStreamConnections,
    private readonly stream: HistoryStream,
    private readonly options: HistoryOptions,
    timeoutMs: number,
  ) {
    this.reads = new Semaphore(options.maxConcurrentReads ?? DEFAULT_MAX_CONCURRENT_READS);
    this.olderPages = new JetStreamOlderPageReader(options.stream, timeoutMs);
  }

  async head(channel: string): Promise<ChannelHead> {
    const seq = await this.stream.withStream('head', async () =>
      (await this.connections.reader()).lastSeq(storeSubject(channel)),
    );
    return { seq, epoch: await this.stream.epoch('head') };
  }

  /** One page of older messages (`JetStreamOlderPageReader`), under the bound on reads in flight. */
  async olderPage(channel: string, request: OlderPageRequest): Promise<OlderPage> {
    const invalid = invalidOlderPageRequest(request);
    if (invalid) throw invalid;
    const read = await this.reads.run(() =>
      this.stream.withStream('page', async () =>
        this.olderPages.read(await this.connections.api(), storeSubject(channel), request),
      ),
    );
    return { ...read, epoch: await this.stream.epoch('page') };
  }

  replay(channel: string, since: number, epoch?: string): Promise<Replay> {
    const invalid = invalidSince(since);
    if (invalid) return Promise.reject(invalid);
    return this.sharedReplay(channel, since, epoch, this.tick);
  }

  /**
   * A caller holds live messages from before it asks (at tick `asked`). A read that started after
   * that is safe to share. One that started before may have seen the channel's end before the
   * caller began holding: its page is still right (history is append-only), but when it says the
   * channel ends there and the channel has grown since, the caller must read on from its last
   * seq, or read again if it was empty.
   */
  private async sharedReplay(
    channel: string,
    since: number,
    epoch: string | undefined,
    asked: number,
  ): Promise<Replay> {
    const key = `${channel}\u0000${since}\u0000${epoch ?? ''}`;
    let shared = this.inflight.get(key);
    if (!shared) {
      const entry = { startedAt: Number.POSITIVE_INFINITY } as SharedRead;
      entry.promise = this.reads
        .run(() => {
          entry.startedAt = ++this.tick;
          return this.stream.withStream('replay', () => this.read(channel, since, epoch));
        })
        .finally(() => {
          if (this.inflight.get(key) === entry) this.inflight.delete(key);
        });
      this.inflight.set(key, entry);
      shared = entry;
    }
    const page = await shared.promise;
    // Each caller gets its own array; the messages themselves are immutable and shared.
    const own = { ...page, messages: [...page.messages] };
    if (shared.startedAt > asked || page.more) return own;
    // One get tells whether anything was stored after the page's end since (usually nothing).
    if ((await this.head(channel)).seq <= Math.max(page.seq, since)) return own;
    if (page.messages.length > 0) return { ...own, more: true };
    return this.sharedReplay(channel, since, epoch, asked);
  }

  /*
   * Why `recovered` is computed so. Messages leave the stream only at the old end: the per-subject
   * limit drops a channel's oldest, and max_age drops the stream's oldest in seq order. So a
   * channel's kept messages are always a suffix of all it ever stored, and every seq below the
   * stream's first_seq (F) is gone while none at or above it was removed by age. With S0 = the
   * channel's first kept seq and C = its kept count:
   *  - S0 <= since + 1: the kept suffix reaches back past since, so nothing after since is gone.
   *  - else C < max and F <= since + 1: age removed nothing after since; nor did the count limit,
   *    since a trim leaves max messages, all newer than the removed one (so > since and >= F),
   *    which age cannot have touched: C would still be max.
   *  - else something after since may be gone: false. Conservative when since is not a seq of the
   *    channel (since = 0, or a seq gap) and F moved past since + 1, as trims of any channel do.
   * S0, C and F are read after the messages, so a trim racing the read makes the answer false
   * rather than hiding a hole.
   */
  private async read(channel: string, since: number, epoch?: string): Promise<Replay> {
    const subject = storeSubject(channel);
    const reader = await this.connections.reader();
    const page = await reader.read(subject, since + 1);
    const [info, first, last] = await Promise.all([
      reader.streamInfo(subject),
      reader.firstSeqFrom(subject, 0),
      page.messages.length > 0 ? undefined : reader.lastSeq(subject),
    ]);
    this.stream.noteEpoch(info.created);
    const { first_seq: streamFirst, last_seq: streamLast } = info.state;
    const count = info.state.subjects?.[subject] ?? 0;
    const reachesBack =
      (first ?? Number.POSITIVE_INFINITY) <= since + 1 ||
      (count < this.options.maxMsgsPerChannel && streamFirst <= since + 1);
    return {
      messages: page.messages,
      more: page.more,
      seq: page.messages.at(-1)?.seq ?? Math.min(last ?? 0, since),
      epoch: info.created,
      recovered:
        (epoch === undefined || epoch === info.created) && since <= streamLast && reachesBack,
    };
  }
}
