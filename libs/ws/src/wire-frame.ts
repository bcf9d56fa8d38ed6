import type { Socket } from 'node:net';
import WebSocket from 'ws';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

/** ws's own framing (exported as `WebSocket.Sender`, untyped by @types/ws). */
const Sender = (
  WebSocket as unknown as { Sender: { frame(data: Buffer, o: FrameOptions): Buffer[] } }
).Sender;

const TEXT = 0x1;

/**
 * A text frame framed once, for writing the same bytes to many sockets. `ws.send` frames the
 * payload again for every socket; a fan-out to thousands of members pays that per delivery (the
 * benchmark's profile). Server frames are unmasked and our server never compresses, so the bytes
 * are the same for every recipient.
 */
export class WireFrame {
  readonly bytes: Buffer;

  constructor(readonly payload: Buffer) {
    const parts = Sender.frame(payload, {
      fin: true,
      rsv1: false,
      opcode: TEXT,
      mask: false,
      readOnly: true,
    });
    this.bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/**
 * The TCP socket under a `ws` WebSocket. Writing to it directly is safe only because
 * permessage-deflate is off (`WsHub` creates the server so): ws then never queues frames, and
 * `bufferedAmount` still counts what is written here.
 */
export function rawSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket;
}
