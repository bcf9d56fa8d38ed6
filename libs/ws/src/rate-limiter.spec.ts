import { RateLimiter } from './rate-limiter';

describe(RateLimiter.name, () => {
  const limit = { perSecond: 10, burst: 20 };

  it('allows the burst at once, then limits', () => {
    const t = 1_000_000;
    const sut = new RateLimiter(limit, t);
    const verdicts = Array.from({ length: 25 }, () => sut.take(t));
    expect(verdicts.filter((v) => v === 'ok')).toHaveLength(20);
    expect(verdicts.slice(20)).toEqual(['limited', 'limited', 'limited', 'limited', 'limited']);
  });

  it('refills at the sustained rate', () => {
    let t = 1_000_000;
    const sut = new RateLimiter(limit, t);
    for (let i = 0; i < 20; i++) sut.take(t);
    expect(sut.take(t)).toBe('limited');
    t += 100; // one token per 100 ms at 10/s
    expect(sut.take(t)).toBe('ok');
    expect(sut.take(t)).toBe('limited');
  });

  it('calls it abuse past 10x the rate within one second', () => {
    const t = 1_000_000;
    const sut = new RateLimiter(limit, t);
    const verdicts = Array.from({ length: 101 }, () => sut.take(t));
    expect(verdicts[99]).toBe('limited');
    expect(verdicts[100]).toBe('abuse');
    // A new window starts clean.
    expect(sut.take(t + 1000)).not.toBe('abuse');
  });
});
