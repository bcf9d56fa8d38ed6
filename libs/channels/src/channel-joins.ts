/**
 * Joins and resumes: a member's position in a channel, and the history it missed replayed before
 * any live message (held meanwhile), so that each message arrives once and in order.
 */
import type { HistoryStore } from '@app/history';
import type { ChannelReply } from '@app/protocol';
import type { Connection } from '@app/ws';
import type { BrokerGuard } from './broker-guard';
import { UNKNOWN, type Member } from './channel';
import type { ChannelRegistry } from './channel-registry';
import type { ChannelsMetrics } from './channels-metrics';
import type { FrameDelivery } from './frame-delivery';
import { toFrame } from './frame-codec';
import { walkReplay } from './replay-pages';

export interface JoinOptions {
  /** Deliver every kept message with seq > since before any live one. */
  since?: number;
  /** The epoch the client's `since` belongs to. */
  epoch?: string;
}

/** Where a member stands in a channel once its join returns: the wire's `ChannelReply`. */
export type ChannelPosition = ChannelReply;

export class ChannelJoins {
  constructor(
    private readonly registry: ChannelRegistry,
    private readonly delivery: FrameDelivery,
    private readonly history: HistoryStore,
    private readonly broker: BrokerGuard,
    private readonly metrics: ChannelsMetrics,
  ) {}

  /**
   * Adds `conn` to `channel`. With `since`, replays what it missed first, holding live messages
   * meanwhile. Joining again re-runs the resume; joins of one member run one after the other.
   */
  async join(conn: Connection, channel: string, options: JoinOptions): Promise<ChannelPosition> {
    const ch = this.registry.open(channel);
    let member = ch.members.get(conn);
    const isNew = !member;
    if (!member) {
      member = { from: 0, after: 0, pending: [] };
      this.registry.add(ch, conn, member);
    }
    const joined = member;
    const run = async (): Promise<ChannelPosition> => {
      this.broker.assertConnected();
      joined.pending ??= [];
      await ch.ready;
      return options.since === undefined
        ? this.start(conn, channel, joined, isNew)
        : this.resume(conn, channel, joined, options.since, options.epoch);
    };
    const task = (joined.busy ?? Promise.resolve()).then(run, run);
    joined.busy = task.catch(() => undefined);
    try {
      const result = await task;
      // What a join read of the history tells how far the channel has gone (for gap detection).
      if (result.seq > ch.lastSeq) ch.lastSeq = result.seq;
      ch.known = true;
      return result;
    } catch (error) {
      if (isNew) this.registry.leave(conn, channel);
      else this.delivery.release(conn, joined, joined.after);
      throw error;
    }
  }

  /** A join without `since`: live from the head of the channel on. */
  private async start(
    conn: Connection,
    channel: string,
    member: Member,
    isNew: boolean,
  ): Promise<ChannelPosition> {
    const head = await this.history.head(channel);
    if (isNew || member.from === UNKNOWN) member.from = head.seq;
    this.delivery.release(conn, member, Math.max(head.seq, member.after));
    return { seq: member.after, epoch: head.epoch, recovered: true };
  }

  /**
   * Replays what the member missed, page by page, writing only while its socket has room (a client
   * that reads gets any backlog; one that does not is closed with 1013), while live messages are
   * held; then releases those above the last replayed seq.
   */
  private async resume(
    conn: Connection,
    channel: string,
    member: Member,
    since: number,
    epoch: string | undefined,
  ): Promise<ChannelPosition> {
    let first = await this.history.replay(channel, since, epoch);
    // A new history (another epoch, or a `since` beyond its end: a client of a reset history that
    // sent no epoch) makes the client's `since` and what it holds meaningless: send the whole new one.
    const reset = (epoch !== undefined && epoch !== first.epoch) || since > first.seq;
    if (reset) first = { ...(await this.history.replay(channel, 0)), recovered: false };
    const held =
      reset || member.from === UNKNOWN
        ? { from: 0, after: 0 }
        : { from: member.from, after: member.after };
    let last = reset ? 0 : since;
    const end = await walkReplay(this.history, channel, first, async (message) => {
      if (message.seq > held.from && message.seq <= held.after) {
        last = message.seq;
        return true;
      }
      if (!(conn.isOpen && conn.hasRoom) && !(await conn.whenWritable())) return false;
      last = message.seq;
      const frame = toFrame(message.data, message.seq);
      if (conn.sendFrame(frame)) this.metrics.delivered(frame, 1, true);
      return true;
    });
    const { recovered } = end;
    member.from = reset ? 0 : Math.min(since, held.after > held.from ? held.from : since);
    this.delivery.release(
      conn,
      member,
      Math.max(last, end.complete ? end.last.seq : 0, held.after),
    );
    (recovered ? this.metrics.recoveredReplays : this.metrics.unrecoveredReplays).inc();
    return { seq: member.after, epoch: first.epoch, recovered };
  }
}
