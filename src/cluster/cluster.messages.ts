/** What replicas tell each other about themselves (JSON on core NATS subjects). */

/** What each replica reports of itself with its heartbeat (cumulative counters, for rates). */
export interface ReplicaStats {
  connections: number;
  channels: number;
  framesIn: number;
  framesOut: number;
  deliveries: number;
}

export type HeartbeatMessage =
  /** Instance `i` (replica `r`) is alive, holds `n` shared items (rooms), and reports stats `s`. */
  | { t: 'hb'; i: string; r: string; n: number; s?: ReplicaStats }
  | { t: 'bye'; i: string }
  /** Instance `to` is asked to publish its shared state again (a snapshot of every room). */
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

/** A peer's counts, keeping only well-formed entries (a peer's message is input too). */
export function countsOf(counts: unknown): Array<[string, number]> {
  if (typeof counts !== 'object' || counts === null) return [];
  return Object.entries(counts).filter(
    (entry): entry is [string, number] =>
      Number.isSafeInteger(entry[1]) && (entry[1] as number) >= 0,
  );
}
