import type { Logger } from '@nestjs/common';
import type { Connection } from './connection';

/**
 * Pings every connection once an interval; one that stayed silent (no frame, no pong) for two
 * intervals is dropped without a closing handshake. One timer for all connections.
 */
export class Heartbeat {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly connections: Iterable<Connection>,
    private readonly logger: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private beat(): void {
    for (const conn of this.connections) {
      if (conn.missedPings >= 2) {
        this.logger.debug({ connectionId: conn.id, msg: 'dropping silent client' });
        conn.terminate();
      } else {
        conn.missedPings++;
        conn.ping();
      }
    }
  }
}
