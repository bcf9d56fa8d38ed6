import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { BrokerConnections } from './broker-connections';
import { InMemoryRelay } from './in-memory.relay';
import { NatsRelay } from './nats.relay';
import { Relay } from './relay';
import { RelayMetrics } from './relay-metrics';
import { RELAY_OPTIONS, RelayModuleDefinition, type RelayOptions } from './relay.options';

/** The one choice, NATS or memory, that `Relay` and `BrokerConnections` both follow. */
const TRANSPORT = Symbol('RelayTransport');

interface Transport {
  readonly relay: Relay;
  /** Only on NATS. */
  readonly connections: BrokerConnections | null;
}

/**
 * The seam between replicas, for the whole app (global). Configure with
 * `RelayModule.forRootAsync({ inject, useFactory })`; `servers` with at least one server selects
 * NATS, none the in-memory twin. Provides:
 * - `Relay`: what every replica receives (`subscribe`: stored messages republished by JetStream
 *   on `live.>` and ephemeral events alike) and how ephemeral events leave (`publishEphemeral`: presence,
 *   cluster messages). Features inject it and never learn which transport they got.
 * - `BrokerConnections`: the NATS connections, for stores that publish stored messages themselves
 *   (history: its append *is* the relay of a stored message) or keep other state on JetStream
 *   (webhooks). `null` in embedded mode: inject it with `@Optional()`.
 * - `RelayMetrics`, on the app's prom-client `Registry` when one is provided.
 */
@Global()
@Module({
  providers: [
    { provide: TRANSPORT, useFactory: chooseTransport, inject: [RELAY_OPTIONS] },
    // `Relay` is the one provider whose value has lifecycle hooks (connect, drain): run once.
    { provide: Relay, useFactory: ({ relay }: Transport) => relay, inject: [TRANSPORT] },
    {
      provide: BrokerConnections,
      useFactory: ({ connections }: Transport) => connections,
      inject: [TRANSPORT],
    },
    {
      provide: RelayMetrics,
      useFactory: (relay: Relay, registry?: Registry) => new RelayMetrics(relay, registry),
      inject: [Relay, { token: Registry, optional: true }],
    },
  ],
  exports: [Relay, BrokerConnections, RELAY_OPTIONS],
})
export class RelayModule extends RelayModuleDefinition {}

function chooseTransport(options: RelayOptions): Transport {
  const servers = options.servers ?? [];
  if (servers.length === 0) return { relay: new InMemoryRelay(), connections: null };
  const relay = new NatsRelay({ ...options, servers });
  const connections: BrokerConnections = {
    primary: () => relay.connected(),
    open: (purpose) => relay.openConnection(purpose),
  };
  return { relay, connections };
}
