/**
 * One message crossing replicas. `headers` carry metadata such as `Nats-Sequence`. Treat both as
 * immutable: the same object reaches every local handler, and nats.js may still hold `data` after
 * `publishEphemeral` resolves (it is written to the socket later, or after a reconnect).
 */
export interface RelayMessage {
  readonly data: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Receives a message and the concrete subject it was published on (useful with wildcards). Called
 * synchronously from the connection's read loop: keep it short and hand slow work off.
 */
export type RelayHandler = (message: RelayMessage, subject: string) => void;

/**
 * Broker connection state, for readiness and metrics. `reconnecting` also covers the time before
 * the first connection; `closed` is final.
 */
export type RelayState = 'connected' | 'reconnecting' | 'closed';

/**
 * Fan-out across replicas: every subscribed replica gets each message once. No queue group: every
 * replica with an interested client must see room traffic. Messages from one publisher reach each
 * subscriber in publish order.
 *
 * Two kinds of message cross it, and `subscribe` receives both. Ephemeral events (presence,
 * cluster messages) leave through `publishEphemeral` and are gone if nobody listens. Stored messages leave
 * through the history store (`HistoryStore.publishStored`): on NATS the stream republishes each one on
 * `live.>` with its sequence headers, which is their relay; the in-memory history stands in for
 * that republish on this relay.
 */
export abstract class Relay {
  /**
   * Sends an ephemeral event to every replica subscribed to `subject` (no wildcards): not stored,
   * no sequence, lost by replicas that are away. Resolves once the broker client took it, not on
   * delivery. Rejects with `AppError('unavailable')` when the broker cannot take it, and with a
   * plain `Error` for an invalid subject.
   */
  abstract publishEphemeral(subject: string, message: RelayMessage): Promise<void>;

  /**
   * Calls `onMessage` for each message on `subject` (wildcards `*` and `>` allowed), ephemeral or
   * stored (republished by the history's stream on `live.>`). Handlers of the same subject share
   * one broker subscription; a handler that throws is logged and does not affect the others. Returns the function that removes this handler (calling it twice is harmless).
   * Throws `AppError('unavailable')` when the broker connection is closed.
   */
  abstract subscribe(subject: string, onMessage: RelayHandler): () => void;

  /** Resolves once every subscription made before the call is active on the broker. */
  abstract flush(): Promise<void>;

  /** The broker connection state now. */
  abstract get state(): RelayState;

  /** Calls `listener` on every state change; returns the function that stops it. */
  abstract onStateChange(listener: (state: RelayState) => void): () => void;

  /**
   * Calls `listener` each time the broker connection is back after it was lost (never for the
   * first connection): core messages sent meanwhile never reached this replica, so whoever keeps
   * state from them catches up here. Returns the function that stops it.
   */
  abstract onReconnected(listener: () => void): () => void;
}
