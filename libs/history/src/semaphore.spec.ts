import { Semaphore } from './semaphore';

describe(Semaphore.name, () => {
  it('runs at most `limit` tasks at once and the rest in arrival order', async () => {
    const sut = new Semaphore(2);
    const started: number[] = [];
    const release: Array<() => void> = [];
    const tasks = [0, 1, 2, 3].map((i) =>
      sut.run(async () => {
        started.push(i);
        await new Promise<void>((resolve) => release.push(resolve));
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(sut.queued).toBe(2);
    release[0]?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    expect(sut.running).toBe(2);
    for (let i = 1; i < 4; i++) {
      release[i]?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(Promise.all(tasks)).resolves.toEqual([0, 1, 2, 3]);
    expect(sut.running).toBe(0);
  });

  it('frees the slot when a task fails', async () => {
    const sut = new Semaphore(1);
    await expect(sut.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(sut.run(() => Promise.resolve('next'))).resolves.toBe('next');
    expect(sut.running).toBe(0);
  });
});
