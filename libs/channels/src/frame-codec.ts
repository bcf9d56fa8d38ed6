/**
 * Messages are stored as `{"event":…,"data":{…}}` without their seq, which only the history assigns.
 * A replica turns the stored bytes into the outbound frame once per message by splicing
 * `"seq":N,` in after `"data":{`: no parse, no re-serialization, one Buffer for every socket.
 */
import { WireFrame } from '@app/ws';

const DATA_MARK = Buffer.from(',"data":{');
const EVENT_MARK = Buffer.from('{"event":"');
const QUOTE = 0x22;

export function encodeStored(event: string, data: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ event, data }));
}

/** The outbound frame of a stored message, as text (a replay writes it to one socket). */
export function toFrame(stored: Uint8Array, seq: number): Buffer {
  return Buffer.concat(framePartsOf(stored, seq));
}

/** The outbound frame of a stored message, framed for the wire once for every member's socket. */
export function toWireFrame(stored: Uint8Array, seq: number): WireFrame {
  return new WireFrame(...framePartsOf(stored, seq));
}

/** The stored bytes up to `"data":{`, the `"seq":N,` to splice in, and the rest: views, no copies. */
function framePartsOf(stored: Uint8Array, seq: number): [Buffer, Buffer, Buffer] {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const at = bytes.indexOf(DATA_MARK);
  if (at < 0) throw new Error('stored message is not an {"event","data"} frame');
  const split = at + DATA_MARK.length;
  return [bytes.subarray(0, split), Buffer.from(`"seq":${seq},`), bytes.subarray(split)];
}

/** The event name of a stored message or frame, read from its first bytes (for metrics labels). */
export function eventOf(frame: Buffer): string | undefined {
  const n = EVENT_MARK.length;
  if (frame.length < n || frame.compare(EVENT_MARK, 0, n, 0, n) !== 0) return undefined;
  const end = frame.indexOf(QUOTE, n);
  return end < 0 ? undefined : frame.toString('utf8', n, end);
}
