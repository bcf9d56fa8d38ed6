/**
 * Writes frames to a channel's local members: each live message to every member that lacks it
 * (held for members whose join is in progress), and ephemeral frames that nothing stores.
 */
import { WireFrame, encodeFrame, type Connection, type ServerEvents } from '@app/ws';
import { UNKNOWN, type Channel, type Member, type PendingFrame } from './channel';
import type { ChannelsMetrics } from './channels-metrics';

export class FrameDelivery {
  constructor(private readonly metrics: ChannelsMetrics) {}

  /** Writes one live message to every member (held members keep it for their release). */
  deliver(ch: Channel, live: PendingFrame): void {
    if (live.seq > ch.lastSeq) ch.lastSeq = live.seq;
    ch.known = true;
    const { seq, frame, origin } = live;
    let sent = 0;
    for (const [conn, member] of ch.members) {
      if (member.pending) this.hold(conn, member, live);
      else if (seq > member.after && conn.id !== origin) {
        if (member.from === UNKNOWN) member.from = live.previous ?? seq - 1;
        member.after = seq;
        if (conn.sendWire(frame)) sent++;
      }
    }
    if (sent > 0) this.metrics.delivered(frame.payload, sent);
  }

  /**
   * Writes one frame, framed once, to every member, held ones included: it has no seq, so it
   * neither waits for a resume nor moves a member's position. Returns how many sockets got it.
   */
  sendEphemeral<E extends keyof ServerEvents>(
    ch: Channel | undefined,
    event: E,
    data: ServerEvents[E],
  ): number {
    if (!ch || ch.members.size === 0) return 0;
    const frame = new WireFrame(Buffer.from(encodeFrame(event, data)));
    let sent = 0;
    for (const conn of ch.members.keys()) if (conn.sendWire(frame)) sent++;
    if (sent > 0) this.metrics.sentEphemeral(event, sent);
    return sent;
  }

  /** Ends a hold: delivers held live messages above `after`, then goes live. */
  release(conn: Connection, member: Member, after: number): void {
    member.after = after;
    for (const held of member.pending ?? []) {
      if (held.seq > member.after && conn.id !== held.origin) {
        member.after = held.seq;
        if (conn.sendWire(held.frame)) this.metrics.delivered(held.frame.payload, 1);
      }
    }
    member.pending = undefined;
    delete member.pendingBytes;
  }

  /** Resolves once every member's socket has room for more (a gap fill writes page by page). */
  async whenMembersWritable(ch: Channel): Promise<void> {
    const waits: Promise<boolean>[] = [];
    for (const conn of ch.members.keys()) if (!conn.hasRoom) waits.push(conn.whenWritable());
    if (waits.length > 0) await Promise.all(waits);
  }

  /** Holds a live message during a join; past the socket's bound the client must resume. */
  private hold(conn: Connection, member: Member, live: PendingFrame): void {
    member.pendingBytes = (member.pendingBytes ?? 0) + live.frame.bytes.length;
    if (member.pendingBytes <= conn.bufferLimit) member.pending?.push(live);
    else conn.closeSlow();
  }
}
