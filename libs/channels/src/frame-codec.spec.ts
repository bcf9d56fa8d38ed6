import { encodeStored, eventOf, toFrame } from './frame-codec';

describe('frame codec', () => {
  it('splices the seq into the stored frame without touching the rest', () => {
    const stored = encodeStored('chat.message', {
      id: 'x',
      body: { nested: { data: '{"data":{' } },
      ts: 1,
    });
    const frame = JSON.parse(toFrame(stored, 42).toString()) as unknown;
    expect(frame).toEqual({
      event: 'chat.message',
      data: { seq: 42, id: 'x', body: { nested: { data: '{"data":{' } }, ts: 1 },
    });
  });

  it('works on a view into a larger buffer (as NATS hands messages over)', () => {
    const stored = encodeStored('e', { id: 'y' });
    const big = Buffer.concat([Buffer.from('garbage'), stored, Buffer.from('tail')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 7, stored.length);
    expect(JSON.parse(toFrame(view, 7).toString())).toEqual({
      event: 'e',
      data: { seq: 7, id: 'y' },
    });
  });

  it('reads the event name of a frame without parsing it', () => {
    const stored = encodeStored('chat.message', { id: 'z', body: '{"event":"x"}' });
    expect(eventOf(toFrame(stored, 3))).toBe('chat.message');
    expect(eventOf(Buffer.from('{"x":1}'))).toBeUndefined();
    expect(eventOf(Buffer.from('{}'))).toBeUndefined();
    expect(eventOf(Buffer.from('{"event":"unterminated'))).toBeUndefined();
  });

  it('refuses bytes that are not a stored frame', () => {
    expect(() => toFrame(Buffer.from('{"x":1}'), 1)).toThrow('not an {"event","data"} frame');
  });
});
