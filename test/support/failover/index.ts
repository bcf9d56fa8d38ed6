/**
 * Shared pieces of the failover suite (test/e2e/failover): replicas of the build, fleets of SDK
 * clients that record what they receive, a publisher that retries until acknowledged, the delivery
 * checks every scenario ends with, and process measurements. docs/reliability.md says what each
 * scenario proves.
 */
export * from './delivery';
export * from './measurements';
export * from './members';
export * from './publisher';
export * from './replicas';
export * from './scenario';
export * from './stream-leader';
export * from './waits';
