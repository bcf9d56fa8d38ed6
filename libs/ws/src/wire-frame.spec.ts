import { openWsPair } from '@app/testing';
import { Connection } from './connection';
import { WireFrame } from './wire-frame';

describe(WireFrame.name, () => {
  it('is read by a real client as the same text, for every length encoding', async () => {
    const { accepted, client, close } = await openWsPair();
    const sut = new Connection(accepted, null, {
      maxBufferedBytes: 1 << 24,
      rate: { perSecond: 1, burst: 1 },
    });
    // 7-bit, 16-bit and 64-bit payload lengths.
    const texts = ['x'.repeat(100), 'é'.repeat(1000), 'y'.repeat(70_000)];
    const received = new Promise<string[]>((resolve) => {
      const got: string[] = [];
      client.on('message', (data, isBinary) => {
        expect(isBinary).toBe(false);
        got.push((data as Buffer).toString());
        if (got.length === texts.length) resolve(got);
      });
    });
    for (const text of texts) {
      const parts = [text.slice(0, 10), text.slice(10, 11), text.slice(11)].map((t) =>
        Buffer.from(t),
      );
      expect(sut.sendWire(new WireFrame(...parts))).toBe(true);
    }
    expect(await received).toEqual(texts);
    await close();
  });
});
