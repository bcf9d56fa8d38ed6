import { openWsPair } from '@app/testing';
import type { WebSocket } from 'ws';
import { Connection } from './connection';
import { WritableWait } from './writable-wait';

const BOUND = 256 * 1024;
const CHUNK = Buffer.alloc(32 * 1024, 'x');

/** A server-side Connection and the client socket it talks to, over loopback. */
async function pair(
  stallMs: number,
): Promise<{ sut: Connection; client: WebSocket; end: () => Promise<void> }> {
  const { accepted, client, close: end } = await openWsPair();
  const sut = new Connection(accepted, null, {
    maxBufferedBytes: BOUND,
    rate: { perSecond: 1, burst: 1 },
    stallMs,
  });
  return { sut, client, end };
}

/**
 * Writes while there is room, as a replay does, until the kernel takes no more: a turn's writes
 * stay corked until it ends (turn-cork.ts), so room is checked again after each turn.
 */
async function fill(sut: Connection): Promise<number> {
  let written = 0;
  while (sut.hasRoom) {
    while (sut.hasRoom) {
      expect(sut.sendFrame(CHUNK)).toBe(true);
      written += CHUNK.length;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return written;
}

describe(WritableWait.name, () => {
  it("resolves true once a reading client has drained the socket (the TCP socket's drain, not the stall check)", async () => {
    const { sut, client, end } = await pair(120_000);
    client.pause();
    let received = 0;
    client.on('message', (data: Buffer) => (received += data.length));
    const written = await fill(sut);
    const writable = sut.whenWritable();
    expect(sut.whenWritable()).toBe(writable); // one wait per socket, however many writers
    client.resume();
    expect(await writable).toBe(true);
    expect(sut.hasRoom).toBe(true);
    expect(sut.isOpen).toBe(true);
    await end();
    expect(received).toBeLessThanOrEqual(written);
  });

  it('closes a socket that does not read with 1013 after the stall time, and resolves false', async () => {
    const { sut, client, end } = await pair(300);
    client.pause();
    const closed = new Promise<number>((resolve) => client.once('close', resolve));
    await fill(sut);
    expect(await sut.whenWritable()).toBe(false);
    expect(sut.isOpen).toBe(false);
    client.resume();
    expect(await closed).toBe(1013);
    await end();
  });

  it('resolves false at once for a closed socket', async () => {
    const { sut, client, end } = await pair(120_000);
    const closed = new Promise((resolve) => sut.onClose(() => resolve(undefined)));
    client.close();
    await closed;
    expect(await sut.whenWritable()).toBe(false);
    await end();
  });
});
