import { Backoff } from './backoff';

describe(Backoff.name, () => {
  it('waits random(0, min(max, base * 2^attempt)): full jitter under a growing, capped ceiling', () => {
    const sut = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0.999999);
    const ceilings = Array.from({ length: 7 }, () => sut.next() + 1);
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('can wait nothing at all: the jitter starts at 0', () => {
    const sut = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0);
    expect([sut.next(), sut.next(), sut.next()]).toEqual([0, 0, 0]);
  });

  it('scales the random draw to the ceiling', () => {
    const sut = new Backoff({ baseMs: 100, maxMs: 10_000 }, () => 0.5);
    expect([sut.next(), sut.next(), sut.next()]).toEqual([50, 100, 200]);
  });

  it('starts over after reset', () => {
    const sut = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0.5);
    sut.next();
    sut.next();
    expect(sut.attempts).toBe(2);
    sut.reset();
    expect(sut.attempts).toBe(0);
    expect(sut.next()).toBe(50);
  });

  it('never overflows, however many attempts', () => {
    const sut = new Backoff({ baseMs: 500, maxMs: 30_000 }, () => 0.999999);
    for (let i = 0; i < 2000; i++) sut.next();
    expect(sut.next()).toBe(29_999);
  });
});
