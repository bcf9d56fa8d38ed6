import { Logger, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { InMemoryRelay, NatsRelay, Relay, RelayModule } from '@app/relay';
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

describe(HistoryModule.name, () => {
  let moduleRef: TestingModule | undefined;
  let server: NatsServerHandle | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    await server?.stop();
    moduleRef = undefined;
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
    expect(sut).toBeInstanceOf(InMemoryHistory);
    expect(moduleRef.get(HISTORY_OPTIONS)).toEqual(new FakeConfig().history);

    const channel = freshChannel();
    const inbox = new LiveInbox(relay, channel);
    const { seq } = await sut.publishStored(channel, new Uint8Array([7]));
    await inbox.waitFor(1, 'the live message');
    expect(inbox.header(0, 'Nats-Sequence')).toBe(String(seq));
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
    const relay = moduleRef.get(Relay);
    expect(relay).toBeInstanceOf(NatsRelay);
    expect(sut).toBeInstanceOf(JetStreamHistory);

    const jsm = await (relay as NatsRelay).connection.jetstreamManager();
    const info = await jsm.streams.info('RT_MODULE');
    expect(info.config.subjects).toEqual(['rt.>']);
    const channel = freshChannel();
    const { seq } = await sut.publishStored(channel, new Uint8Array([7]));
    expect(await sut.head(channel)).toEqual({ seq, epoch: info.created });
  });
});
