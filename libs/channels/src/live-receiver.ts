/**
 * Live messages from the relay into delivery, in seq order without gaps: a gap (messages lost on
 * the way, or stored while the broker was away) is filled from history first.
 */
import { Logger } from '@nestjs/common';
import { LAST_SEQ_HEADER, SEQ_HEADER, type HistoryStore, type StoredMessage } from '@app/history';
import type { RelayMessage } from '@app/relay';
import { CloseCode } from '@app/core';
import { ORIGIN_HEADER, type Channel, type PendingFrame } from './channel';
import type { FrameDelivery } from './frame-delivery';
import { toWireFrame } from './frame-codec';
import { walkReplay } from './replay-pages';

/** History reads a gap fill tries before it gives up and sends the members to resume. */
const FILL_ATTEMPTS = 3;

export class LiveReceiver {
  private readonly logger = new Logger('ChannelsService');

  constructor(
    private readonly history: HistoryStore,
    private readonly delivery: FrameDelivery,
  ) {}

  /**
   * A live message. Its `Nats-Last-Sequence` names the channel's previous message: when that is
   * newer than anything seen here, messages were lost on the way (core NATS drops what arrives
   * while a replica reconnects), so live delivery holds while the gap is filled from history.
   */
  receive(ch: Channel, message: RelayMessage): void {
    const headers = message.headers;
    const seq = Number(headers?.[SEQ_HEADER]);
    if (!Number.isSafeInteger(seq)) {
      this.logger.warn({ channel: ch.name, msg: 'live message without a sequence number dropped' });
      return;
    }
    const previous = Number(headers?.[LAST_SEQ_HEADER]);
    const live: PendingFrame = {
      seq,
      frame: toWireFrame(message.data, seq),
      origin: headers?.[ORIGIN_HEADER],
      previous: Number.isSafeInteger(previous) && previous < seq ? previous : undefined,
    };
    if (ch.filling) this.holdForFill(ch, live);
    else if (ch.known && live.previous !== undefined && live.previous > ch.lastSeq) {
      ch.filling = [live];
      void this.fill(ch, ch.lastSeq);
    } else this.delivery.deliver(ch, live);
  }

  /** After a broker outage: whatever the channel stored meanwhile is read from history. */
  async catchUp(ch: Channel): Promise<void> {
    if (!ch.known || ch.filling) return;
    try {
      const head = await this.history.head(ch.name);
      if (head.seq <= ch.lastSeq || ch.filling) return;
      ch.filling = [];
      await this.fill(ch, ch.lastSeq);
    } catch (error) {
      this.logger.warn({ channel: ch.name, err: (error as Error).message, msg: 'catch-up failed' });
    }
  }

  /**
   * Delivers what history holds after `after`, page by page while the members' sockets have room,
   * then the live messages held meanwhile. When history cannot be read (retried a few times), the
   * members are closed with 1013: their clients resume from their own last seq, instead of being
   * moved past messages they never got.
   */
  private async fill(ch: Channel, after: number): Promise<void> {
    const holding = ch.filling;
    let from = after;
    let filled = 0;
    const each = async (stored: StoredMessage): Promise<boolean> => {
      if (ch.filling !== holding) return false; // given up: the members were sent to resume
      await this.delivery.whenMembersWritable(ch);
      if (ch.filling !== holding) return false;
      this.delivery.deliver(ch, {
        seq: stored.seq,
        frame: toWireFrame(stored.data, stored.seq),
        origin: stored.headers?.[ORIGIN_HEADER],
      });
      from = stored.seq;
      filled++;
      return true;
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const first = await this.history.replay(ch.name, from);
        if (!(await walkReplay(this.history, ch.name, first, each)).complete) return;
        this.logger.warn({
          channel: ch.name,
          after,
          recovered: filled,
          msg: 'live gap filled from history',
        });
        break;
      } catch (error) {
        if (attempt < FILL_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
          continue;
        }
        this.logger.warn({
          channel: ch.name,
          err: (error as Error).message,
          members: ch.members.size,
          msg: 'live gap could not be filled: members must resume',
        });
        this.abandonFill(ch);
        return;
      }
    }
    if (ch.filling !== holding) return;
    const held = ch.filling ?? [];
    this.endFill(ch);
    for (const live of held) this.delivery.deliver(ch, live);
  }

  /** Holds a live message while a gap is filled; past the bound the members must resume. */
  private holdForFill(ch: Channel, live: PendingFrame): void {
    ch.fillingBytes = (ch.fillingBytes ?? 0) + live.frame.bytes.length;
    if (ch.fillingBytes <= holdLimit(ch)) {
      ch.filling?.push(live);
      return;
    }
    this.logger.warn({
      channel: ch.name,
      members: ch.members.size,
      msg: 'live messages held during a gap fill passed the bound: members must resume',
    });
    if (live.seq > ch.lastSeq) ch.lastSeq = live.seq;
    this.abandonFill(ch);
  }

  private abandonFill(ch: Channel): void {
    this.endFill(ch);
    for (const conn of [...ch.members.keys()])
      conn.close(CloseCode.TryAgainLater, 'missed messages: resume');
  }

  private endFill(ch: Channel): void {
    ch.filling = undefined;
    delete ch.fillingBytes;
  }
}

/** What may be held for a channel's members: their sockets' bound (the same for all). */
function holdLimit(ch: Channel): number {
  for (const conn of ch.members.keys()) return conn.bufferLimit;
  return 0;
}
