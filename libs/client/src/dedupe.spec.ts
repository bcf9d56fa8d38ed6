import { RecentIds } from './dedupe';

describe(RecentIds.name, () => {
  it('recognises a repeat', () => {
    const sut = new RecentIds(3);
    expect(sut.add('a')).toBe(true);
    expect(sut.add('b')).toBe(true);
    expect(sut.add('a')).toBe(false);
    expect(sut.has('b')).toBe(true);
  });

  it('keeps at most `capacity` ids, forgetting the oldest first', () => {
    const sut = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) sut.add(id);
    expect(sut.size).toBe(3);
    expect(sut.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => sut.has(id))).toBe(true);
    expect(sut.add('a')).toBe(true);
    expect(sut.has('b')).toBe(false);
  });

  it('refuses a window that cannot hold an id', () => {
    expect(() => new RecentIds(0)).toThrow(RangeError);
  });
});
