import { Injectable, Logger, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { BrokerConnections } from './broker-connections';
import { InMemoryRelay } from './in-memory.relay';
import { NatsRelay } from './nats.relay';
import { Relay } from './relay';
import { RelayModule } from './relay.module';
import type { RelayOptions } from './relay.options';

Logger.overrideLogger(['error']);

const SETTINGS = Symbol('SETTINGS');

/** Stands in for the app's config module: the factory's dependency comes from another module. */
@Module({ providers: [{ provide: SETTINGS, useValue: { natsUrl: '' } }], exports: [SETTINGS] })
class SettingsModule {}

/** A feature that injects the abstract `Relay` without importing RelayModule (it is global). */
@Injectable()
class FeatureService {
  constructor(readonly relay: Relay) {}
}
@Module({ providers: [FeatureService] })
class FeatureModule {}

async function compile(
  useFactory: (settings: { natsUrl: string }) => RelayOptions,
): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      RelayModule.forRootAsync({ imports: [SettingsModule], inject: [SETTINGS], useFactory }),
      FeatureModule,
    ],
  }).compile();
  return moduleRef.init();
}

describe(RelayModule.name, () => {
  it('provides InMemoryRelay when no servers are configured', async () => {
    const moduleRef = await compile((s) => ({
      name: 'solo',
      servers: s.natsUrl ? [s.natsUrl] : [],
    }));

    const sut = moduleRef.get(FeatureService).relay;

    expect(sut).toBeInstanceOf(InMemoryRelay);
    expect(moduleRef.get(Relay)).toBe(sut);
    expect(moduleRef.get(BrokerConnections)).toBeNull();
    await moduleRef.close();
  });

  it('provides InMemoryRelay when servers is absent', async () => {
    const moduleRef = await compile(() => ({ name: 'solo' }));

    expect(moduleRef.get(Relay)).toBeInstanceOf(InMemoryRelay);
    await moduleRef.close();
  });

  describe('with servers', () => {
    let server: NatsServerHandle;

    beforeAll(async () => {
      server = await startNatsServer({ jetstream: false });
    });

    afterAll(async () => {
      await server.stop();
    });

    it('provides a NatsRelay connected by init and closed by close', async () => {
      const moduleRef = await compile(() => ({ name: 'wired', servers: [server.url] }));
      const sut = moduleRef.get(FeatureService).relay;

      expect(sut).toBeInstanceOf(NatsRelay);
      expect(sut.state).toBe('connected');
      expect((sut as NatsRelay).connection.getServer()).toBe(`127.0.0.1:${server.port}`);

      await moduleRef.close();

      expect(sut.state).toBe('closed');
    });

    it("provides BrokerConnections on the relay's connection, and further ones closed with it", async () => {
      const moduleRef = await compile(() => ({ name: 'wired', servers: [server.url] }));
      const relay = moduleRef.get<Relay, NatsRelay>(Relay);
      const sut = moduleRef.get(BrokerConnections);

      expect(await sut.primary()).toBe(relay.connection);
      const other = await sut.open('store');
      expect(other).not.toBe(relay.connection);
      expect(other.getServer()).toBe(relay.connection.getServer());

      await moduleRef.close();

      expect(other.isClosed()).toBe(true);
    });
  });
});
