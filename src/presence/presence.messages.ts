/** What replicas tell each other about presence (JSON on core NATS subjects). */
export type RoomMessage =
  /** A user's first connection in the room on instance `i` arrived (`p: true`) or its last left. */
  | { t: 'state'; i: string; u: string; p: boolean }
  /** Every user instance `i` has in the room: replaces what was known of `i` there. */
  | { t: 'snap'; i: string; u: string[] }
  /** Instance `i` just became interested in the room: everyone with members there sends a snap. */
  | { t: 'sync'; i: string };

/** What each replica reports of itself with its heartbeat (cumulative counters, for rates). */
export interface ReplicaStats {
  connections: number;
  channels: number;
  framesIn: number;
  framesOut: number;
  deliveries: number;
}

export type HeartbeatMessage =
  /** Instance `i` (replica `r`) is alive, has members in `n` rooms, and reports stats `s`. */
  | { t: 'hb'; i: string; r: string; n: number; s?: ReplicaStats }
  | { t: 'bye'; i: string }
  /** Instance `to` is asked to publish a snapshot of every room it has members in. */
  | { t: 'resync'; i: string; to: string };

export interface QueryMessage {
  /** The asking instance; answers go to its reply subject. */
  i: string;
  /** Request number, echoed in the answer. */
  n: number;
  users?: string[];
  room?: string;
}

export interface AnswerMessage {
  i: string;
  n: number;
  /** Local connections per asked user, or per user present in the asked room. */
  counts: Record<string, number>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(message: object): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** Parses a peer's message; anything malformed is `undefined` (and ignored by the caller). */
export function decode<T extends object>(data: Uint8Array): T | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    return typeof value === 'object' && value !== null ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
