import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CloseCode } from '@app/core';
import { openWsPair, type WsPair } from '@app/testing';
import { Connection } from './connection';
import { rawSocketOf } from './internals';
import { WireFrame } from './wire-frame';

/** The writes Node hands to the TCP handle: one `_write` or `_writev` each is one syscall. */
interface StreamInternals {
  _write: (...args: unknown[]) => void;
  _writev: (chunks: unknown[], ...rest: unknown[]) => void;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const frameOf = (text: string): WireFrame => new WireFrame(Buffer.from(text));

describe('writes batched per turn (turn-cork)', () => {
  let pair: WsPair;
  let client: WebSocket;
  let accepted: WebSocket;
  let raw: Socket;
  let received: string[];

  beforeEach(async () => {
    pair = await openWsPair();
    ({ client, accepted } = pair);
    raw = rawSocketOf(accepted)!;
    received = [];
    client.on('message', (data) => received.push((data as Buffer).toString()));
  });

  afterEach(() => pair.close());

  const connection = (maxBufferedBytes = 1 << 20): Connection =>
    new Connection(accepted, null, { maxBufferedBytes, rate: { perSecond: 1, burst: 1 } });

  const receivedCount = async (count: number): Promise<string[]> => {
    while (received.length < count) {
      await new Promise((resolve) => client.once('message', resolve));
    }
    return received;
  };

  it('writes the frames of one turn, fan-out and replies, with one writev, in order', async () => {
    const sut = connection();
    const internals = raw as unknown as StreamInternals;
    const write = jest.spyOn(internals, '_write');
    const writev = jest.spyOn(internals, '_writev');

    expect(sut.sendWire(frameOf('1'))).toBe(true);
    expect(sut.sendFrame('2')).toBe(true);
    expect(sut.sendWire(frameOf('3'))).toBe(true);
    expect(sut.sendFrame(Buffer.from('4'))).toBe(true);
    expect(sut.sendWire(frameOf('5'))).toBe(true);

    expect(await receivedCount(5)).toEqual(['1', '2', '3', '4', '5']);
    expect(write).not.toHaveBeenCalled();
    expect(writev).toHaveBeenCalledTimes(1);
  });

  it('keeps the batch open across the microtasks of a turn (nats.js parses in a chain of them)', async () => {
    const sut = connection();
    const writev = jest.spyOn(raw as unknown as StreamInternals, '_writev');

    await Promise.resolve().then(async () => {
      for (const text of ['a', 'b', 'c']) {
        sut.sendWire(frameOf(text));
        await Promise.resolve();
      }
    });

    expect(await receivedCount(3)).toEqual(['a', 'b', 'c']);
    expect(writev).toHaveBeenCalledTimes(1);
  });

  it('holds no frame past its turn: a later turn is written at its own end', async () => {
    const sut = connection();

    sut.sendWire(frameOf('first'));
    expect(raw.writableLength).toBeGreaterThan(0); // corked until the turn ends
    await nextTurn();
    expect(raw.writableLength).toBe(0);

    sut.sendFrame('second');
    await nextTurn();
    expect(raw.writableLength).toBe(0);
    expect(await receivedCount(2)).toEqual(['first', 'second']);
  });

  it('counts corked bytes in the buffered-bytes bound: past it the socket is closed with 1013', async () => {
    const frame = frameOf('x'.repeat(1000));
    const sut = connection(2500);
    const closed = new Promise<number>((resolve) => client.once('close', resolve));

    const sent = [1, 2, 3, 4].map(() => sut.sendWire(frame));

    expect(sent).toEqual([true, true, true, false]);
    expect(await closed).toBe(CloseCode.TryAgainLater);
    expect(received).toHaveLength(3); // what was written before the bound, then the close
  });

  it('drops the batch of a socket destroyed in the same turn without an error', async () => {
    const sut = connection();
    const errors: Error[] = [];
    raw.on('error', (error) => errors.push(error));

    sut.sendWire(frameOf('lost'));
    raw.destroy();
    await nextTurn();

    expect(raw.destroyed).toBe(true);
    expect(() => sut.sendWire(frameOf('after'))).not.toThrow();
    await nextTurn();
    expect(errors).toEqual([]);
  });
});
