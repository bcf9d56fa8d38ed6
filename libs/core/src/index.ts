/**
 * The foundation every layer shares: the error type and codes, the principal, the close codes.
 * It imports nothing of ours, so relay, history and the SDK can use it without the WebSocket kit.
 */
export * from './close-codes';
export * from './errors';
export * from './principal';
