export * from './in-memory.relay';
export * from './nats.relay';
export * from './relay';
export * from './relay-metrics';
export * from './relay.module';
export * from './relay.options';
export * from './subjects';
