import { Global, Logger, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { connect, type NatsConnection } from 'nats';
import { BrokerConnections, InMemoryRelay, NatsRelay, Relay, RelayModule } from '@app/relay';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { CONTRACT_OPTIONS, freshChannel, LiveInbox } from './history.contract';
import { HISTORY_OPTIONS, type HistoryOptions } from './history-options';
import { HistoryStore } from './history-store';
import { HistoryModule } from './history.module';
import { InMemoryHistory } from './in-memory.history';
import { JetStreamHistory } from './jetstream.history';

Logger.overrideLogger(['error']);

/** Stands in for the app's config module: the options come from an injected provider. */
class FakeConfig {
  readonly history: HistoryOptions = { ...CONTRACT_OPTIONS, stream: 'RT_MODULE' };
}
@Module({ providers: [FakeConfig], exports: [FakeConfig] })
class FakeConfigModule {}

const historyModule = HistoryModule.forRootAsync({
  imports: [FakeConfigModule],
  inject: [FakeConfig],
  useFactory: (config: FakeConfig) => config.history,
});

/**
 * Stands in for `RelayModule`: an in-memory relay, with `BrokerConnections` only when
 * `connections` is given, so the store's choice can only come from that provider.
 */
function fakeRelayModule(connections?: BrokerConnections) {
  @Global()
  @Module({
    providers: [
      { provide: Relay, useValue: new InMemoryRelay() },
      ...(connections ? [{ provide: BrokerConnections, useValue: connections }] : []),
    ],
    exports: connections ? [Relay, BrokerConnections] : [Relay],
  })
  class FakeRelayModule {}
  return FakeRelayModule;
}

describe(HistoryModule.name, () => {
  let moduleRef: TestingModule | undefined;
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    await nc?.close();
    await server?.stop();
    moduleRef = undefined;
    nc = undefined;
    server = undefined;
  });

  it('keeps history in memory on the in-memory relay and relays appends on it', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [RelayModule.forRootAsync({ useFactory: () => ({ name: 'solo' }) }), historyModule],
    }).compile();
    await moduleRef.init();
    const sut = moduleRef.get(HistoryStore);
    const relay = moduleRef.get(Relay);
    expect(relay).toBeInstanceOf(InMemoryRelay);
    expect(moduleRef.get(BrokerConnections)).toBeNull();
    expect(sut).toBeInstanceOf(InMemoryHistory);
    expect(moduleRef.get(HISTORY_OPTIONS)).toEqual(new FakeConfig().history);

    const channel = freshChannel();
    const inbox = new LiveInbox(relay, channel);
    const { seq } = await sut.publishStored(channel, new Uint8Array([7]));
    await inbox.waitFor(1, 'the live message');
    expect(inbox.header(0, 'Nats-Sequence')).toBe(String(seq));
  });

  it('keeps history in memory when no BrokerConnections provider exists at all', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [fakeRelayModule(), historyModule],
    }).compile();
    await moduleRef.init();

    expect(moduleRef.get(HistoryStore)).toBeInstanceOf(InMemoryHistory);
  });

  it('uses JetStream on the connections BrokerConnections provides, whatever the relay', async () => {
    server = await startNatsServer();
    const opened = (nc = await connect({ servers: server.url }));
    const purposes: string[] = [];
    const connections: BrokerConnections = {
      primary: () => Promise.resolve(opened),
      open: (purpose) => {
        purposes.push(purpose);
        return Promise.resolve(opened);
      },
    };
    moduleRef = await Test.createTestingModule({
      imports: [fakeRelayModule(connections), historyModule],
    }).compile();
    await moduleRef.init();
    const sut = moduleRef.get(HistoryStore);

    expect(sut).toBeInstanceOf(JetStreamHistory);
    const info = await (await opened.jetstreamManager()).streams.info('RT_MODULE');
    const channel = freshChannel();
    const { seq } = await sut.publishStored(channel, new Uint8Array([7]));
    const replay = await sut.replay(channel, 0);
    expect(replay.messages.map((m) => m.seq)).toEqual([seq]);
    expect(replay.epoch).toBe(info.created);
    expect(purposes).toEqual(['history']);
  });

  it('uses JetStream on the NATS relay, even when listed before the relay module', async () => {
    server = await startNatsServer();
    const url = server.url;
    moduleRef = await Test.createTestingModule({
      // History first: its start-up must wait for the relay's connection, not find it missing.
      imports: [
        historyModule,
        RelayModule.forRootAsync({ useFactory: () => ({ name: 'replica', servers: [url] }) }),
      ],
    }).compile();
    await moduleRef.init();
    const sut = moduleRef.get(HistoryStore);
    expect(moduleRef.get(Relay)).toBeInstanceOf(NatsRelay);
    expect(sut).toBeInstanceOf(JetStreamHistory);

    const primary = await moduleRef.get(BrokerConnections).primary();
    const info = await (await primary.jetstreamManager()).streams.info('RT_MODULE');
    expect(info.config.subjects).toEqual(['rt.>']);
    const channel = freshChannel();
    const { seq } = await sut.publishStored(channel, new Uint8Array([7]));
    expect(await sut.head(channel)).toEqual({ seq, epoch: info.created });
  });
});
