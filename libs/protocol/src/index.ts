/**
 * The wire shapes of the public protocol (docs/protocol.md), shared by the server and the client
 * SDK: the map of every server event and of every request's reply, types and the error-code list
 * only, no runtime dependencies.
 */
export * from './errors';
export * from './events';
export * from './replies';
