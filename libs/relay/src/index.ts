/**
 * @app/relay: what crosses replicas. A stored message leaves through the history store
 * (`HistoryStore.publishStored` publishes it to the JetStream stream, whose republish on `live.>` is its
 * relay); an ephemeral event (presence, cluster messages) leaves through `Relay.publishEphemeral` on a core
 * subject; both arrive through `Relay.subscribe`. `BrokerConnections` hands the NATS connections to
 * the stores that need them.
 */
export * from './broker-connections';
export * from './in-memory.relay';
export * from './nats-connection';
export * from './nats-headers';
export * from './nats-refusal';
export * from './nats.relay';
export * from './relay';
export * from './relay-metrics';
export * from './relay.module';
export * from './relay.options';
export * from './subjects';
