export * from './free-port';
export * from './nats-server';
export * from './test-app';
export * from './ws-test-client';
export * from './replicas';
export * from './nats-cluster';
export * from './wait-for';
export * from './tls-certificates';
