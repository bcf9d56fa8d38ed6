import { isPlainObject } from '@app/ws';

/** Replica-to-replica core subjects of `POST /users/:userId/disconnect`. */
export const DisconnectSubject = {
  /** Every replica closes the user's connections and answers with how many. */
  request: 'cluster.disconnect',
  /** Answers to one instance's requests. */
  reply: (instance: string): string => `cluster.disconnect.reply.${instance}`,
} as const;

/** Instance `i` asks (request number `n`) every replica to close user `u`'s connections, reason `r`. */
export interface DisconnectRequest {
  i: string;
  n: number;
  u: string;
  r: string;
}

/** Instance `i` closed `c` connections for request `n`. */
export interface DisconnectAnswer {
  i: string;
  n: number;
  c: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMessage(message: DisconnectRequest | DisconnectAnswer): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** The message when it is JSON of the expected shape, else undefined (never trust the wire). */
export function decodeRequest(data: Uint8Array): DisconnectRequest | undefined {
  const m = parse(data);
  return m &&
    typeof m.i === 'string' &&
    Number.isSafeInteger(m.n) &&
    typeof m.u === 'string' &&
    typeof m.r === 'string'
    ? (m as unknown as DisconnectRequest)
    : undefined;
}

export function decodeAnswer(data: Uint8Array): DisconnectAnswer | undefined {
  const m = parse(data);
  return m && typeof m.i === 'string' && Number.isSafeInteger(m.n) && Number.isSafeInteger(m.c)
    ? (m as unknown as DisconnectAnswer)
    : undefined;
}

function parse(data: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
