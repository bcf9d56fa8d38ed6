/** FIN + opcode 1 (text): a whole text message in one frame. */
const FIN_TEXT = 0x81;

/**
 * A text frame framed once, for writing the same bytes to many sockets. `ws.send` frames the
 * payload again for every socket; a fan-out to thousands of members pays that per delivery (the
 * benchmark's profile). Server frames are unmasked and our server never compresses, so the bytes
 * are the same for every recipient. The payload is given in parts (a stored message and the seq
 * spliced into it) and written once, after the header (RFC 6455 §5.2), into one buffer.
 */
export class WireFrame {
  readonly bytes: Buffer;
  /** The frame's text (a view of `bytes`, not a copy). */
  readonly payload: Buffer;

  constructor(...parts: Uint8Array[]) {
    let length = 0;
    for (const part of parts) length += part.length;
    const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
    const bytes = Buffer.allocUnsafe(header + length);
    bytes[0] = FIN_TEXT;
    if (header === 2) bytes[1] = length;
    else if (header === 4) {
      bytes[1] = 126;
      bytes.writeUInt16BE(length, 2);
    } else {
      bytes[1] = 127;
      bytes.writeUInt32BE(Math.floor(length / 0x100000000), 2);
      bytes.writeUInt32BE(length >>> 0, 6);
    }
    let at = header;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    this.bytes = bytes;
    this.payload = bytes.subarray(header);
  }
}
