import { InMemoryRelay } from '@app/relay';
import { CONTRACT_OPTIONS, describeHistoryContract, freshChannel } from './history.contract';
import { InMemoryHistory } from './in-memory.history';

describeHistoryContract(InMemoryHistory.name, (options) => {
  const relay = new InMemoryRelay();
  let store = new InMemoryHistory(relay, options);
  store.onModuleInit();
  return Promise.resolve({
    relay,
    get store() {
      return store;
    },
    replica: () => Promise.resolve(store),
    reset() {
      // A restarted process: the in-memory history is gone and a new epoch says so.
      store.onModuleDestroy();
      store = new InMemoryHistory(relay, options);
      return Promise.resolve(store);
    },
    close() {
      store.onModuleDestroy();
      return Promise.resolve();
    },
  });
});

describe(InMemoryHistory.name, () => {
  it('rejects limits that cannot work', () => {
    const relay = new InMemoryRelay();
    expect(() => new InMemoryHistory(relay, { ...CONTRACT_OPTIONS, maxMsgsPerChannel: 0 })).toThrow(
      /maxMsgsPerChannel/,
    );
    expect(() => new InMemoryHistory(relay, { ...CONTRACT_OPTIONS, maxAgeMs: -1 })).toThrow(
      /maxAgeMs/,
    );
  });

  it('keeps a message for exactly maxAgeMs', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const sut = new InMemoryHistory(new InMemoryRelay(), {
        ...CONTRACT_OPTIONS,
        maxAgeMs: 1_000,
      });
      const a = freshChannel();
      const { seq } = await sut.publishStored(a, new Uint8Array([1]));
      jest.advanceTimersByTime(999);
      expect((await sut.head(a)).seq).toBe(seq);
      jest.advanceTimersByTime(1);
      expect((await sut.head(a)).seq).toBe(0);
      expect(await sut.replay(a, 0)).toMatchObject({ messages: [], recovered: false });
    } finally {
      jest.useRealTimers();
    }
  });
});
