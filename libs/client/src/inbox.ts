import { ChannelState, type ResumeFrom } from './channel-state';
import type { DirectMessage, Position } from './types';
import type { InboxResult } from './wire';

export type InboxMode = 'live' | 'history' | Position;

/**
 * What a new connection sends as `chat.inbox`: a resume from the last position, or (no position
 * yet, `live` mode) no `since`, which only asks where the inbox stands.
 */
export interface InboxPlan {
  from: ResumeFrom;
}

/**
 * The user's direct-message inbox. The server follows it live from `welcome` on, so on a new
 * connection a live message can arrive before the older ones `chat.inbox` replays: while a resume
 * runs, messages are held, then delivered in seq order once the reply has come.
 */
export class Inbox {
  private readonly state: ChannelState;
  private held?: DirectMessage[];
  /** The connection on which the position was learnt while its epoch is unknown. */
  private positionedOn?: number;

  constructor(
    window: number,
    private readonly mode: InboxMode,
  ) {
    this.state = new ChannelState(window, typeof mode === 'object' ? mode : undefined);
  }

  position(): Position | undefined {
    return this.state.position();
  }

  /** Decides what a new connection sends; call once per connection. */
  plan(): InboxPlan {
    if (this.state.seq !== undefined) return { from: this.state.resumeFrom() };
    return { from: this.mode === 'history' ? { since: 0 } : {} };
  }

  /** Where the inbox stands, from a position-only `chat.inbox`, unless a message said more. */
  locate(result: InboxResult): void {
    if (this.state.seq === undefined || this.state.seq < result.seq) {
      this.state.confirm(result.seq, result.epoch);
    }
  }

  /** Holds live messages until `release`: a resume is on its way. */
  hold(): void {
    this.held ??= [];
  }

  /** A `chat.direct` on connection `connection`: what to deliver now (nothing while held). */
  receive(message: DirectMessage, connection: number, epoch: string | undefined): DirectMessage[] {
    if (this.held) {
      this.held.push(message);
      return [];
    }
    const fresh = this.state.accept(message.id, message.seq);
    if (this.state.epoch === undefined) {
      if (epoch !== undefined) this.state.epoch = epoch;
      else this.positionedOn = connection;
    }
    return fresh ? [message] : [];
  }

  /**
   * Ends a hold: with the resume's reply, which sets the position, or without (the resume was
   * given up). Returns the held messages to deliver, in seq order, repeats left out.
   */
  release(result?: InboxResult): DirectMessage[] {
    const held = (this.held ?? []).sort((a, b) => a.seq - b.seq);
    this.held = undefined;
    if (result) this.state.confirm(result.seq, result.epoch);
    return held.filter((message) => this.state.accept(message.id, message.seq));
  }

  /** The connection was lost: the held messages were not delivered; the next resume sends them. */
  drop(): void {
    this.held = undefined;
  }

  /** This client's own message: a later replay must not hand it back. */
  seen(id: string): void {
    this.state.seen(id);
  }

  /**
   * An epoch learnt from any reply on `connection`. One epoch names the whole history, so it is
   * the epoch of a position learnt on the same connection: resuming with it lets the server detect
   * a reset history instead of taking a stale `since` as current.
   */
  adoptEpoch(epoch: string, connection: number): void {
    if (this.state.epoch === undefined && this.state.seq !== undefined) {
      if (this.positionedOn === connection) this.state.epoch = epoch;
    }
  }
}
