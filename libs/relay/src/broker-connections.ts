import type { NatsConnection } from 'nats';

/**
 * This replica's NATS connections, for stores that need more than the relay's core pub/sub
 * (JetStream history, the webhook queue). `RelayModule` provides it only on NATS: in embedded mode
 * (no servers) the token resolves to `null`, so a consumer injects it with `@Optional()` and picks
 * its in-memory twin when it gets none. The abstract class is the injection token.
 */
export abstract class BrokerConnections {
  /**
   * The relay's own connection, once it is up: starts connecting if the relay has not yet (its
   * start-up and ours may run in either order), and waits for the broker however long it takes.
   */
  abstract primary(): Promise<NatsConnection>;

  /**
   * Opens another connection with the same servers, credentials and TLS, for traffic that must
   * not share the relay connection's fate (a slow consumer cut off takes every subscription on its
   * connection along). `purpose` names it in the server's monitoring; it follows the relay's
   * `state` and is closed when the relay shuts down.
   */
  abstract open(purpose: string): Promise<NatsConnection>;
}
