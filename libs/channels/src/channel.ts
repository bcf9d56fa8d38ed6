/** The state of one channel on this replica and of each local member in it. */
import type { Connection, WireFrame } from '@app/ws';

/** A member's `from` before it has a position: it follows live, no history read yet. */
export const UNKNOWN = -1;

/** Set on a published message to keep it from the connection that sent it. */
export const ORIGIN_HEADER = 'Rt-Origin';

/** A live message, framed once for every member's socket. */
export interface PendingFrame {
  seq: number;
  frame: WireFrame;
  /** The id of the connection that sent it, which does not get it back. */
  origin?: string;
  /** The channel's previous seq (`Nats-Last-Sequence`), when the message carried it. */
  previous?: number;
}

/**
 * One connection in one channel. It has every message with seq in (from, after]; a resume sends
 * only what lies outside that range, so nothing reaches the same connection twice. `from` is
 * UNKNOWN for a member that follows live without a history read until its first message.
 */
export interface Member {
  from: number;
  after: number;
  /** Live messages held while a join or resume is in progress. */
  pending?: PendingFrame[];
  /** Bytes of `pending`: past the socket's bound the connection is closed (1013) to resume. */
  pendingBytes?: number;
  /** The join in progress: joins of one member run one after the other. */
  busy?: Promise<unknown>;
}

export interface Channel {
  readonly name: string;
  readonly members: Map<Connection, Member>;
  /** Highest seq this replica has seen of the channel (0: none yet). */
  lastSeq: number;
  /** Whether `lastSeq` is where the channel stood (after a history read or a live message). */
  known: boolean;
  /** Live messages held while a gap is filled from history. */
  filling?: PendingFrame[];
  /** Bytes of `filling`: past the members' socket bound they are sent to resume instead. */
  fillingBytes?: number;
  /** Resolves once the channel's relay subscription is active on the broker; then dropped. */
  ready?: Promise<void>;
  unsubscribe: () => void;
}
