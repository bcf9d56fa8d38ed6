import { RequestQueue, TokenBucket } from './request-queue';

describe(RequestQueue.name, () => {
  it('holds at most `capacity` requests, in order', () => {
    const sut = new RequestQueue<number>(2);
    expect(sut.push(1)).toBe(true);
    expect(sut.push(2)).toBe(true);
    expect(sut.push(3)).toBe(false);
    expect([sut.shift(), sut.shift(), sut.shift()]).toEqual([1, 2, undefined]);
  });

  it('puts requests cut off by a disconnect back in front, even past its capacity', () => {
    const sut = new RequestQueue<string>(2);
    sut.push('new1');
    sut.push('new2');
    sut.requeue(['old1', 'old2']);
    expect(sut.length).toBe(4);
    expect(sut.push('more')).toBe(false);
    expect(sut.drain()).toEqual(['old1', 'old2', 'new1', 'new2']);
    expect(sut.length).toBe(0);
  });
});

describe(TokenBucket.name, () => {
  it('allows a burst, then one frame per 1/perSecond', () => {
    let now = 0;
    const sut = new TokenBucket(10, 3, () => now);
    expect([sut.take(), sut.take(), sut.take()]).toEqual([0, 0, 0]);
    expect(sut.take()).toBe(100);
    now += 50;
    expect(sut.take()).toBe(50);
    now += 50;
    expect(sut.take()).toBe(0);
    expect(sut.take()).toBe(100);
  });

  it('refills up to the burst only', () => {
    let now = 0;
    const sut = new TokenBucket(10, 2, () => now);
    now += 60_000;
    expect([sut.take(), sut.take()]).toEqual([0, 0]);
    expect(sut.take()).toBeGreaterThan(0);
  });

  it('lets a forced frame go into debt, which later frames wait for', () => {
    let now = 0;
    const sut = new TokenBucket(10, 1, () => now);
    sut.force();
    sut.force();
    expect(sut.take()).toBe(200);
    now += 200;
    expect(sut.take()).toBe(0);
  });
});
