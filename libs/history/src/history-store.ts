import type { OlderPage, OlderPageRequest } from './older-page';

/** A message as kept in history: its seq within the channel's stream and the bytes published. */
export interface StoredMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  /** The headers it was appended with (broker metadata such as `Nats-*` is not included). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ChannelHead {
  /** Seq of the newest message of the channel, 0 when it has none. */
  readonly seq: number;
  /** Names the history itself; a reset history has a new epoch. */
  readonly epoch: string;
}

/** One page of a replay: bounded in messages and bytes (`HistoryOptions.replayPage*`). */
export interface Replay extends ChannelHead {
  /**
   * The first kept messages with seq > since, oldest first, at most a page of them (at least one
   * when any is kept). `seq` is the last one's seq; when there is none it is the channel's head,
   * but never above `since`, so a message stored while the replay ran is left to the live path
   * instead of being skipped.
   */
  readonly messages: StoredMessage[];
  /**
   * True when more messages may follow this page: read the next page with `since` = `seq`. False
   * when the page reached the channel's end as it stood when the page was read.
   */
  readonly more: boolean;
  /**
   * False when the epoch differs, when `since` is beyond the end of history, or when history no
   * longer reaches back to `since` (messages after it were removed by the count or age limit).
   * Never true when something after `since` was lost. True whenever the epoch matches and the
   * channel still keeps its message at `since` (or its first kept one is `since + 1`); when that
   * message itself was removed, it may be false although nothing after it was lost.
   */
  readonly recovered: boolean;
}

export interface AppendOptions {
  /**
   * Dedupe key (an idempotency key). Appending the same `msgID` again within the duplicate window
   * (5 minutes, or `maxAgeMs` when shorter) stores and relays nothing and resolves with the first
   * message's seq.
   */
  readonly msgID?: string;
}

export interface AppendResult {
  readonly seq: number;
  /** True when `msgID` repeated one already stored: nothing was stored or relayed this time. */
  readonly duplicate?: boolean;
}

/**
 * Seq, epoch and replay per channel. `publishStored` stores a message and relays it live:
 * subscribers of `liveSubject(channel)` on the Relay receive it with headers `Nats-Sequence` (its
 * seq) and `Nats-Last-Sequence` (the seq of the previous message of the same channel, 0 for the
 * first), plus the headers it was published with. Seqs increase within a channel but are not
 * contiguous.
 */
export abstract class HistoryStore {
  /**
   * Stores the message in the channel's history AND relays it to every replica: this is how a
   * stored message leaves a replica (on JetStream, the stream republishes each stored message on
   * `live.>`; in memory, the store publishes it on the Relay). `Relay.publishEphemeral` carries only
   * ephemeral events. Resolves with the seq once stored. Rejects with `AppError('unavailable')`
   * when the broker is unreachable or does not acknowledge in time.
   */
  abstract publishStored(
    channel: string,
    data: Uint8Array,
    headers?: Readonly<Record<string, string>>,
    options?: AppendOptions,
  ): Promise<AppendResult>;

  /** The channel's newest seq and the current epoch. Rejects with `unavailable` like `publishStored`. */
  abstract head(channel: string): Promise<ChannelHead>;

  /**
   * One page of the messages with seq > since (see `Replay.more` for the next). A replay of a big
   * backlog reads page after page, so no read ever holds more than a page in flight. `epoch` is
   * the one the client had; omitted means the current one.
   * With another epoch the messages after `since` are still returned, with `recovered: false`.
   * Rejects with `AppError('bad_request')` when `since` is not an integer >= 0, with `unavailable`
   * like `publishStored`.
   */
  abstract replay(channel: string, since: number, epoch?: string): Promise<Replay>;

  /**
   * The newest kept messages with seq < `before` (or the newest of all), oldest first, within the
   * request's count and byte bounds. Rejects with `bad_request` on a bad request, with
   * `unavailable` like `publishStored`.
   */
  abstract olderPage(channel: string, request: OlderPageRequest): Promise<OlderPage>;
}
