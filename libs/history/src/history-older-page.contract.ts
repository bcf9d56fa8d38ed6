import { AppError } from '@app/core';
import type { HistoryStore } from './history-store';
import type { MakeHistory } from './history.contract';
import { CONTRACT_OPTIONS, freshChannel } from './history.contract';
import type { OlderPage } from './older-page';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const texts = (p: OlderPage): string[] => p.messages.map((m) => decoder.decode(m.data));

/** Appends `count` messages of 10 bytes (`${prefix}${i}`, i < 10); resolves with their seqs. */
async function appendMany(
  store: HistoryStore,
  channel: string,
  count: number,
  prefix: string,
): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 1; i <= count; i++) {
    seqs.push((await store.publishStored(channel, encoder.encode(`${prefix}${i}`))).seq);
  }
  return seqs;
}

/** `HistoryStore.olderPage`: reading a channel backwards, shared by both implementations. */
export function describeHistoryOlderPageContract(make: MakeHistory): void {
  describe('olderPage (reading backwards)', () => {
    let close: (() => Promise<void>) | undefined;
    const open = async (): Promise<HistoryStore> => {
      const h = await make(CONTRACT_OPTIONS);
      close = () => h.close();
      return h.store;
    };
    afterEach(async () => {
      await close?.();
      close = undefined;
    });

    it('returns the messages before `before`, oldest first, and says when older ones remain', async () => {
      const store = await open();
      const [a, b] = [freshChannel(), freshChannel()];
      const seqA: number[] = [];
      for (let i = 1; i <= 7; i++) {
        seqA.push((await store.publishStored(a, encoder.encode(`a${i}`), { n: String(i) })).seq);
        await store.publishStored(b, encoder.encode(`b${i}`));
      }
      const newest = await store.olderPage(a, { limit: 3 });
      expect(newest.messages.map((m) => m.seq)).toEqual(seqA.slice(4));
      expect(texts(newest)).toEqual(['a5', 'a6', 'a7']);
      expect(newest.messages.map((m) => m.headers)).toEqual([{ n: '5' }, { n: '6' }, { n: '7' }]);
      expect(newest.hasMore).toBe(true);
      expect(newest.epoch).toBe((await store.head(a)).epoch);

      const older = await store.olderPage(a, { before: seqA[4], limit: 3 });
      expect(older.messages.map((m) => m.seq)).toEqual(seqA.slice(1, 4));
      expect(older.hasMore).toBe(true);
      const oldest = await store.olderPage(a, { before: seqA[1], limit: 3 });
      expect(oldest.messages.map((m) => m.seq)).toEqual(seqA.slice(0, 1));
      expect(oldest.hasMore).toBe(false);
      expect(await store.olderPage(a, { before: seqA[0], limit: 3 })).toMatchObject({
        messages: [],
        hasMore: false,
      });
      // `before` need not be a seq of the channel: one of another channel's works too.
      const between = await store.olderPage(a, { before: (seqA[6] ?? 0) + 1, limit: 100 });
      expect(between.messages.map((m) => m.seq)).toEqual(seqA);
      expect(between.hasMore).toBe(false);
    });

    it('is empty for a channel without messages', async () => {
      const store = await open();
      const page = await store.olderPage(freshChannel(), { limit: 50 });
      expect(page).toMatchObject({ messages: [], hasMore: false });
      expect(page.epoch.length).toBeGreaterThan(0);
    });

    it('stops at the byte bound, newest first, but returns at least one message', async () => {
      const store = await open();
      const a = freshChannel();
      const seqs = await appendMany(store, a, 4, 'x'.repeat(9));
      const bounded = await store.olderPage(a, { limit: 4, maxBytes: 25 });
      expect(bounded.messages.map((m) => m.seq)).toEqual(seqs.slice(2));
      expect(bounded.hasMore).toBe(true);
      const one = await store.olderPage(a, { limit: 4, maxBytes: 1 });
      expect(one.messages.map((m) => m.seq)).toEqual(seqs.slice(3));
      expect(one.hasMore).toBe(true);
    });

    it('rejects a bad before or limit as bad_request', async () => {
      const store = await open();
      for (const request of [{ limit: 0 }, { limit: 1.5 }, { before: 0, limit: 1 }]) {
        await expect(store.olderPage(freshChannel(), request)).rejects.toMatchObject({
          constructor: AppError,
          code: 'bad_request',
        });
      }
    });
  });
}
