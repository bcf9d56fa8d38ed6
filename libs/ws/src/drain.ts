import type { Logger } from '@nestjs/common';
import { CloseCode } from '@app/core';
import type { Connection } from './connection';

/** How long a draining connection's requests in flight may take to answer before it closes. */
const IN_FLIGHT_BOUND_MS = 5_000;
/** A peer that never answers the close handshake is cut after this. */
const CLOSE_HANDSHAKE_BOUND_MS = 2_000;

/**
 * A replica's drain: every client is sent `reconnect` and a 1012 close, spread evenly over a window
 * so that the other replicas are not hit by all of them at once. A connection whose turn came
 * takes no new request; the ones being handled may answer first (within a bound).
 */
export class Drain {
  /** Connections whose drain turn came. */
  private readonly closing = new WeakSet<Connection>();

  /** @param logger the hub's: drain lines keep its context */
  constructor(private readonly logger: Logger) {}

  /** Whether `conn`'s turn came: its new requests are refused. */
  isLeaving(conn: Connection): boolean {
    return this.closing.has(conn);
  }

  /** Closes `conns` over `windowMs`; resolves once every one has closed. */
  async run(conns: Connection[], windowMs: number): Promise<void> {
    if (conns.length === 0) return;
    this.logger.log({ connections: conns.length, windowMs, msg: 'drain started' });
    const gap = conns.length > 1 ? windowMs / conns.length : 0;
    const closed = conns.map((conn) => new Promise<void>((resolve) => conn.onClose(resolve)));
    const leaving: Array<Promise<void>> = [];
    for (const [i, conn] of conns.entries()) {
      if (gap > 0 && i > 0) await new Promise((resolve) => setTimeout(resolve, gap));
      leaving.push(this.closeWhenIdle(conn));
    }
    await Promise.all(leaving);
    const cut = setTimeout(() => conns.forEach((c) => c.terminate()), CLOSE_HANDSHAKE_BOUND_MS);
    await Promise.all(closed);
    clearTimeout(cut);
    this.logger.log({ msg: 'drain finished' });
  }

  /** A connection's turn: a reply is never cut off by the close. */
  private async closeWhenIdle(conn: Connection): Promise<void> {
    this.closing.add(conn);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, IN_FLIGHT_BOUND_MS)));
    await Promise.race([conn.idle(), bound]);
    clearTimeout(timer);
    conn.send('reconnect', { reason: 'draining' });
    conn.close(CloseCode.ServiceRestart, 'draining');
  }
}
