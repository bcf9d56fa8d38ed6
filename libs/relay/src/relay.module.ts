import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { InMemoryRelay } from './in-memory.relay';
import { NatsRelay } from './nats.relay';
import { Relay } from './relay';
import { RelayMetrics } from './relay-metrics';
import { RELAY_OPTIONS, RelayModuleDefinition, type RelayOptions } from './relay.options';

/**
 * Provides `Relay` (the abstract class is the token) to the whole app: `NatsRelay` when
 * `servers` lists at least one server, else `InMemoryRelay`. Features inject `Relay` and never
 * learn which one they got. Configure with `RelayModule.forRootAsync({ inject, useFactory })`.
 */
@Global()
@Module({
  providers: [
    {
      provide: Relay,
      useFactory: (options: RelayOptions): Relay => createRelay(options),
      inject: [RELAY_OPTIONS],
    },
    // Its metrics go on the app's prom-client `Registry` when one is provided.
    {
      provide: RelayMetrics,
      useFactory: (relay: Relay, registry?: Registry) => new RelayMetrics(relay, registry),
      inject: [Relay, { token: Registry, optional: true }],
    },
  ],
  exports: [Relay, RELAY_OPTIONS],
})
export class RelayModule extends RelayModuleDefinition {}

function createRelay(options: RelayOptions): Relay {
  const servers = options.servers ?? [];
  return servers.length > 0 ? new NatsRelay({ ...options, servers }) : new InMemoryRelay();
}
