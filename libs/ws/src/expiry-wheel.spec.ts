import { ExpiryWheel } from './expiry-wheel';

describe(ExpiryWheel.name, () => {
  it('expires items whose exp is at or before the tick, once', () => {
    const expired: string[] = [];
    const sut = new ExpiryWheel<string>((item) => expired.push(item));
    sut.schedule('a', 100);
    sut.schedule('b', 101);
    sut.schedule('c', 105);
    sut.schedule('never', undefined);
    sut.tick(99);
    expect(expired).toEqual([]);
    sut.tick(101);
    expect(expired.sort()).toEqual(['a', 'b']);
    sut.tick(101);
    expect(expired).toHaveLength(2);
    sut.tick(200);
    expect(expired.sort()).toEqual(['a', 'b', 'c']);
  });

  it('forgets cancelled items (a refreshed token moves to another bucket)', () => {
    const expired: string[] = [];
    const sut = new ExpiryWheel<string>((item) => expired.push(item));
    sut.schedule('a', 100);
    sut.cancel('a', 100);
    sut.schedule('a', 300);
    sut.tick(150);
    expect(expired).toEqual([]);
    sut.tick(300);
    expect(expired).toEqual(['a']);
  });
});
