import { Logger } from '@nestjs/common';
import { NatsRelay } from '@app/relay';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { AppError } from '@app/core';
import { connect, type NatsConnection } from 'nats';
import type { HistoryOptions } from './history-options';
import type { Replay } from './history-store';
import {
  CONTRACT_OPTIONS,
  describeHistoryContract,
  eventually,
  freshChannel,
} from './history.contract';
import { JetStreamHistory } from './jetstream.history';
import { storeSubject } from './subjects';

// Lifecycle logs (stream updated, connection closed) would drown the output; specs check behaviour.
Logger.overrideLogger(['error']);

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function connectTo(server: NatsServerHandle): Promise<NatsConnection> {
  return connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
}

async function startHistory(
  nc: NatsConnection,
  options: HistoryOptions,
): Promise<JetStreamHistory> {
  const history = new JetStreamHistory(nc, options);
  await history.onModuleInit();
  return history;
}

describeHistoryContract(JetStreamHistory.name, async (options) => {
  const server = await startNatsServer();
  const relay = new NatsRelay({ servers: [server.url], name: 'history-contract' });
  await relay.onModuleInit();
  const store = await startHistory(relay.connection, options);
  const replicas: NatsConnection[] = [];
  return {
    store,
    relay,
    async replica() {
      // Its own connection, as another replica process would have.
      const nc = await connectTo(server);
      replicas.push(nc);
      return startHistory(nc, options);
    },
    async reset() {
      const jsm = await relay.connection.jetstreamManager();
      await jsm.streams.delete(options.stream);
      return store;
    },
    async close() {
      await Promise.all(replicas.map((nc) => nc.close()));
      await relay.onApplicationShutdown();
      await server.stop();
    },
  };
});

describe(JetStreamHistory.name, () => {
  let server: NatsServerHandle;
  const connections: NatsConnection[] = [];
  const open = async (): Promise<NatsConnection> => {
    const nc = await connectTo(server);
    connections.push(nc);
    return nc;
  };
  const streamName = (() => {
    let n = 0;
    return () => `RT_SPEC_${++n}`;
  })();

  beforeAll(async () => {
    server = await startNatsServer();
  });

  afterEach(async () => {
    // Every stream covers rt.>, and subjects may not overlap: each case removes its stream.
    const nc = connections[0];
    if (nc && !nc.isClosed()) {
      const jsm = await nc.jetstreamManager();
      for await (const name of jsm.streams.names()) await jsm.streams.delete(name);
    }
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
  });

  afterAll(async () => {
    await server.stop();
  });

  it('tolerates replicas creating the stream at once, and they share its epoch', async () => {
    const options = { ...CONTRACT_OPTIONS, stream: streamName() };
    const ncs = await Promise.all(Array.from({ length: 5 }, () => open()));
    const stores = await Promise.all(ncs.map((nc) => startHistory(nc, options)));
    const channel = freshChannel();
    const epochs = await Promise.all(stores.map(async (s) => (await s.head(channel)).epoch));
    expect(new Set(epochs).size).toBe(1);
  });

  it('refuses at once, saying what to do, when another stream already stores rt.>', async () => {
    const nc = await open();
    await startHistory(nc, { ...CONTRACT_OPTIONS, stream: streamName() });
    const started = Date.now();
    const other = startHistory(nc, { ...CONTRACT_OPTIONS, stream: streamName() });
    await expect(other).rejects.toThrow(/already stores rt\.>; set HISTORY_STREAM/);
    // Not the 60 s start-up retry kept for a cluster that is still electing its leader.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('brings an existing stream to new limits without resetting it', async () => {
    const stream = streamName();
    const before = await startHistory(await open(), { ...CONTRACT_OPTIONS, stream });
    const channel = freshChannel();
    await before.publishStored(channel, bytes('kept'));
    const { epoch } = await before.head(channel);

    const options = { ...CONTRACT_OPTIONS, stream, maxMsgsPerChannel: 7, maxAgeMs: 30_000 };
    const after = await startHistory(await open(), options);
    const jsm = await (connections[0] ?? (await open())).jetstreamManager();
    const { config } = await jsm.streams.info(stream);
    expect(config.max_msgs_per_subject).toBe(7);
    expect(config.max_age).toBe(30_000 * 1e6);
    expect(config.duplicate_window).toBe(30_000 * 1e6);
    expect(config.republish).toEqual({ src: 'rt.>', dest: 'live.>' });
    expect(await after.head(channel)).toEqual({ seq: 1, epoch });
  });

  it("puts a message's appends on the wire together: published in the caller's own tick", async () => {
    const nc = await open();
    const sut = await startHistory(nc, { ...CONTRACT_OPTIONS, stream: streamName() });
    const publishes = jest.spyOn(nc, 'publish');
    const [a, b] = [freshChannel(), freshChannel()];
    const both = [sut.publishStored(a, bytes('dm')), sut.publishStored(b, bytes('dm'))];
    // Before any await: both are in the connection's outbound buffer, to be written in one go.
    expect(publishes.mock.calls.map(([subject]) => subject)).toEqual([
      storeSubject(a),
      storeSubject(b),
    ]);
    const [sa, sb] = await Promise.all(both);
    expect(sb!.seq).toBeGreaterThan(sa!.seq);
  });

  it('leaves no consumer behind after replays, short or long', async () => {
    const stream = streamName();
    const nc = await open();
    const sut = await startHistory(nc, { ...CONTRACT_OPTIONS, stream });
    const channel = freshChannel();
    for (let i = 0; i < 50; i++) await sut.publishStored(channel, bytes(`m${i}`));
    const replays = await Promise.all(
      [0, 10, 45, 48, 50].map((since) => sut.replay(channel, since)),
    );
    expect(replays.map((r) => r.messages.length)).toEqual([50, 40, 5, 2, 0]);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(stream)).state.consumer_count).toBe(0);
  });

  it('shares page reads among concurrent replays of one range: a storm costs about one reader', async () => {
    const stream = streamName();
    const nc = await open();
    const sut = await startHistory(nc, { ...CONTRACT_OPTIONS, stream, replayPageMessages: 10 });
    const channel = freshChannel();
    const appended: number[] = [];
    for (let i = 0; i < 35; i++)
      appended.push((await sut.publishStored(channel, bytes(`m${i}`))).seq);
    const requests: string[] = [];
    const monitor = await open();
    monitor.subscribe('$JS.API.>', { callback: (_err, m) => requests.push(m.subject) });
    await monitor.flush();
    const readAll = async (): Promise<number[]> => {
      const got: number[] = [];
      for (let since = 0; ;) {
        const page = await sut.replay(channel, since);
        got.push(...page.messages.map((m) => m.seq));
        if (!page.more) return got;
        since = page.seq;
      }
    };
    const count = async (run: () => Promise<unknown>): Promise<number> => {
      await nc.flush();
      await monitor.flush();
      const before = requests.length;
      await run();
      await nc.flush();
      await monitor.flush();
      return requests.length - before;
    };
    const alone = await count(async () => expect(await readAll()).toEqual(appended));
    const storm = await count(async () => {
      const all = await Promise.all(Array.from({ length: 20 }, readAll));
      for (const got of all) expect(got).toEqual(appended);
    });
    expect(alone).toBeGreaterThan(0);
    // The last page is read once more for the joiners (they may have asked after it began).
    expect(storm).toBeLessThan(alone * 2);
  });

  it('a replay that joins a read begun before it asked still gets what was stored meanwhile', async () => {
    const sut = await startHistory(await open(), { ...CONTRACT_OPTIONS, stream: streamName() });
    const channel = freshChannel();
    const appended: number[] = [];
    // Enough to keep the early read in flight while the next message is stored.
    for (let i = 0; i < 60; i++)
      appended.push((await sut.publishStored(channel, bytes(`old${i}`))).seq);
    const readAll = async (first: Promise<Replay>): Promise<number[]> => {
      const got: number[] = [];
      for (let page = await first; ; page = await sut.replay(channel, page.seq)) {
        got.push(...page.messages.map((m) => m.seq));
        if (!page.more) return got;
      }
    };
    const early = readAll(sut.replay(channel, 0)); // its read starts now
    appended.push((await sut.publishStored(channel, bytes('meanwhile'))).seq);
    // Asks once the message is stored: it may share the early read, but must not miss the message.
    const late = await readAll(sut.replay(channel, 0));
    expect(late).toEqual(appended);
    expect((await early).slice(0, 60)).toEqual(appended.slice(0, 60));
  });

  it('bounds concurrent reads and still answers every replay', async () => {
    const sut = await startHistory(await open(), {
      ...CONTRACT_OPTIONS,
      stream: streamName(),
      maxConcurrentReads: 2,
    });
    const channels = Array.from({ length: 10 }, () => freshChannel());
    for (const c of channels)
      for (let i = 0; i < 8; i++) await sut.publishStored(c, bytes(`${c}/${i}`));
    const replays = await Promise.all(channels.map((c) => sut.replay(c, 0)));
    expect(replays.map((r) => r.messages.length)).toEqual(channels.map(() => 8));
    expect(replays.every((r) => r.recovered)).toBe(true);
  });
});

describe(`${JetStreamHistory.name} when the broker goes away`, () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let sut: JetStreamHistory;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectTo(server);
    sut = await startHistory(nc, { ...CONTRACT_OPTIONS, requestTimeoutMs: 500 });
  });

  afterAll(async () => {
    await nc.close();
    await server.stop();
  });

  it('rejects with unavailable while it is down and keeps the history across a crash', async () => {
    const channel = freshChannel();
    const { seq } = await sut.publishStored(channel, bytes('before the crash'));
    const { epoch } = await sut.head(channel);

    await server.kill();
    const unavailable = { constructor: AppError, code: 'unavailable' };
    await expect(sut.publishStored(channel, bytes('lost'))).rejects.toMatchObject(unavailable);
    await expect(sut.head(channel)).rejects.toMatchObject(unavailable);
    await expect(sut.replay(channel, 0)).rejects.toMatchObject(unavailable);

    await server.restart();
    await eventually('appends to work again', () =>
      sut.publishStored(channel, bytes('after')).then(
        () => true,
        () => false,
      ),
    );
    // Enough messages for the consumer path, whose fetch must cope with a sub-second timeout.
    for (let i = 0; i < 5; i++) await sut.publishStored(channel, bytes(`after ${i}`));
    const r = await sut.replay(channel, 0, epoch);
    expect(r.recovered).toBe(true);
    expect(r.messages.length).toBeGreaterThanOrEqual(7);
    expect(r.messages[0]?.seq).toBe(seq);
    expect(new TextDecoder().decode(r.messages[0]?.data)).toBe('before the crash');
    expect(new TextDecoder().decode(r.messages.at(-1)?.data)).toBe('after 4');
  }, 20_000);
});
