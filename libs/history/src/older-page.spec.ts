import { chooseOlderPage, invalidOlderPageRequest } from './older-page';

const candidates = [10, 20, 30, 40].map((seq) => ({ seq, size: 100 }));
const seqs = (r: ReturnType<typeof chooseOlderPage>) => r.chosen.map((c) => c.seq);

describe(chooseOlderPage.name, () => {
  it('takes the newest up to the limit, and says whether older ones remain', () => {
    expect(seqs(chooseOlderPage(candidates, { limit: 2 }))).toEqual([30, 40]);
    expect(chooseOlderPage(candidates, { limit: 2 }).hasMore).toBe(true);
    expect(chooseOlderPage(candidates, { limit: 4 })).toMatchObject({ hasMore: false });
    expect(chooseOlderPage([], { limit: 4 })).toEqual({ chosen: [], hasMore: false });
  });

  it('stops at the byte bound but always takes the newest one', () => {
    expect(seqs(chooseOlderPage(candidates, { limit: 4, maxBytes: 250 }))).toEqual([30, 40]);
    const oversized = [
      { seq: 1, size: 5 },
      { seq: 2, size: 10_000 },
    ];
    expect(chooseOlderPage(oversized, { limit: 4, maxBytes: 100 })).toEqual({
      chosen: [{ seq: 2, size: 10_000 }],
      hasMore: true,
    });
  });
});

describe(invalidOlderPageRequest.name, () => {
  it('names every bad field', () => {
    expect(invalidOlderPageRequest({ limit: 1 })).toBeUndefined();
    expect(invalidOlderPageRequest({ before: 0, limit: 0 })?.fields?.map((f) => f.field)).toEqual([
      'before',
      'limit',
    ]);
  });
});
