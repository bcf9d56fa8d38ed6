import { RecentIds } from './dedupe';
import type { Position } from './types';

/** What a resume request carries: `since` and `epoch` when the position is known. */
export interface ResumeFrom {
  since?: number;
  epoch?: string;
}

/**
 * One room, stream or inbox on the client: the last seq it has, the epoch that seq belongs to, and
 * the ids it delivered recently. `joined` once the server confirmed a join: only those are
 * re-joined after a reconnect (a join still waiting for its reply is retried as a request).
 */
export class ChannelState {
  seq?: number;
  epoch?: string;
  joined = false;
  private readonly recent: RecentIds;

  constructor(window: number, from?: Position) {
    this.recent = new RecentIds(window);
    this.seq = from?.seq;
    this.epoch = from?.epoch;
  }

  /** Records a delivered message; false for a repeat, which must not reach the application. */
  accept(id: string, seq: number): boolean {
    // A reset history replays lower seqs: the join's reply sets the position exactly afterwards.
    if (this.seq === undefined || seq > this.seq) this.seq = seq;
    return this.recent.add(id);
  }

  /** Marks an id as delivered without delivering it (this client's own direct message). */
  seen(id: string): void {
    this.recent.add(id);
  }

  /** The server's word on where this client now is (a join, subscribe or inbox reply). */
  confirm(seq: number, epoch: string): void {
    this.seq = seq;
    this.epoch = epoch;
    this.joined = true;
  }

  resumeFrom(): ResumeFrom {
    if (this.seq === undefined) return {};
    return this.epoch === undefined ? { since: this.seq } : { since: this.seq, epoch: this.epoch };
  }

  position(): Position | undefined {
    if (this.seq === undefined) return undefined;
    return this.epoch === undefined ? { seq: this.seq } : { seq: this.seq, epoch: this.epoch };
  }
}

/** True when a reply's `recovered: false` means messages may be missing (not a first join). */
export function isResume(from: ResumeFrom): boolean {
  return from.since !== undefined && (from.since > 0 || from.epoch !== undefined);
}

export type SubscribeRequest = {
  streams: string[];
  since?: Record<string, number>;
  epoch?: string;
};

/**
 * Streams subscribed with one `notifications.subscribe`: the request takes one `epoch` for all its
 * streams, so streams whose positions belong to different epochs go in different groups.
 */
export class StreamGroup {
  constructor(
    readonly entries: ReadonlyArray<readonly [string, ChannelState]>,
    readonly epoch: string | undefined,
  ) {}

  /** The request as it must be sent now: positions may have moved since the group was formed. */
  request(): SubscribeRequest {
    const since: Record<string, number> = {};
    for (const [stream, state] of this.entries) {
      if (state.seq !== undefined) since[stream] = state.seq;
    }
    return {
      streams: this.entries.map(([stream]) => stream),
      ...(Object.keys(since).length > 0 && { since }),
      ...(this.epoch !== undefined && { epoch: this.epoch }),
    };
  }
}

export function groupByEpoch(
  entries: ReadonlyArray<readonly [string, ChannelState]>,
): StreamGroup[] {
  const groups = new Map<string | undefined, Array<readonly [string, ChannelState]>>();
  for (const entry of entries) {
    const { since, epoch } = entry[1].resumeFrom();
    const key = since === undefined ? undefined : epoch;
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  // Streams without an epoch ride with the first group that has one: a new stream ignores the
  // epoch (it only qualifies a `since`), and a `since` given without one is taken to be in it.
  const fresh = groups.get(undefined);
  const firstEpoch = [...groups.keys()].find((key) => key !== undefined);
  if (fresh && firstEpoch !== undefined) {
    groups.get(firstEpoch)?.push(...fresh);
    groups.delete(undefined);
  }
  return [...groups].map(([epoch, group]) => new StreamGroup(group, epoch));
}
