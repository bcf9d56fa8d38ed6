/**
 * Messages are stored as `{"event":…,"data":{…}}` without their seq, which only the history assigns.
 * A replica turns the stored bytes into the outbound frame once per message by splicing
 * `"seq":N,` in after `"data":{`: no parse, no re-serialization, one Buffer for every socket.
 */
const DATA_MARK = Buffer.from(',"data":{');
const EVENT_MARK = Buffer.from('{"event":"');
const QUOTE = 0x22;

export function encodeStored(event: string, data: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ event, data }));
}

export function toFrame(stored: Uint8Array, seq: number): Buffer {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const at = bytes.indexOf(DATA_MARK);
  if (at < 0) throw new Error('stored message is not an {"event","data"} frame');
  const split = at + DATA_MARK.length;
  return Buffer.concat([
    bytes.subarray(0, split),
    Buffer.from(`"seq":${seq},`),
    bytes.subarray(split),
  ]);
}

/** The event name of a stored message or frame, read from its first bytes (for metrics labels). */
export function eventOf(frame: Buffer): string | undefined {
  const n = EVENT_MARK.length;
  if (frame.length < n || frame.compare(EVENT_MARK, 0, n, 0, n) !== 0) return undefined;
  const end = frame.indexOf(QUOTE, n);
  return end < 0 ? undefined : frame.toString('utf8', n, end);
}
