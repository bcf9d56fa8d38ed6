import { ScatterGather, type GatherAnswer } from './scatter-gather';

interface Count extends GatherAnswer {
  c: number;
}

describe(ScatterGather.name, () => {
  let sut: ScatterGather<Count>;
  /** Request numbers sent, in order. */
  let sent: number[];
  const send = (n: number): Promise<void> => {
    sent.push(n);
    return Promise.resolve();
  };

  beforeEach(() => {
    jest.useFakeTimers();
    sut = new ScatterGather();
    sent = [];
  });
  afterEach(() => jest.useRealTimers());

  it('resolves once every expected instance answered, each once', async () => {
    const asked = sut.ask(send, { expected: ['a', 'b'], timeoutMs: 1000 });
    await Promise.resolve();
    const [n] = sent as [number];
    sut.take({ i: 'a', n, c: 1 });
    sut.take({ i: 'a', n, c: 5 });
    sut.take({ i: 'b', n, c: 2 });
    await expect(asked).resolves.toEqual({
      answers: [
        { i: 'a', n, c: 1 },
        { i: 'b', n, c: 2 },
      ],
      missing: new Set(),
    });
  });

  it('leaves out, after the timeout, who did not answer, and ignores later answers', async () => {
    const asked = sut.ask(send, { expected: ['a', 'slow'], timeoutMs: 1000 });
    await Promise.resolve();
    const [n] = sent as [number];
    sut.take({ i: 'a', n, c: 1 });
    await jest.advanceTimersByTimeAsync(1000);
    const gathered = await asked;
    sut.take({ i: 'slow', n, c: 9 });
    expect(gathered).toEqual({ answers: [{ i: 'a', n, c: 1 }], missing: new Set(['slow']) });
  });

  it('counts an unexpected instance only when asked to, and never another request’s answer', async () => {
    const strict = sut.ask(send, { expected: ['a'], timeoutMs: 1000 });
    const open = sut.ask(send, { expected: ['a'], timeoutMs: 1000, countUnexpected: true });
    await Promise.resolve();
    const [first, second] = sent as [number, number];
    expect(first).not.toBe(second);
    for (const n of [first, second]) {
      sut.take({ i: 'new', n, c: 3 });
      sut.take({ i: 'a', n, c: 1 });
    }
    expect((await strict).answers).toEqual([{ i: 'a', n: first, c: 1 }]);
    expect((await open).answers).toEqual([
      { i: 'new', n: second, c: 3 },
      { i: 'a', n: second, c: 1 },
    ]);
  });

  it('does not wait when nobody is expected, and still sends', async () => {
    await expect(sut.ask(send, { expected: [], timeoutMs: 60_000 })).resolves.toEqual({
      answers: [],
      missing: new Set(),
    });
    expect(sent).toHaveLength(1);
  });

  it('fails with the send, forgetting the request', async () => {
    const broken = () => Promise.reject(new Error('broker away'));
    await expect(sut.ask(broken, { expected: ['a'], timeoutMs: 1000 })).rejects.toThrow(
      'broker away',
    );
    expect(jest.getTimerCount()).toBe(0);
  });
});
