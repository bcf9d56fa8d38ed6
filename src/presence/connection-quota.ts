import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CloseCode } from '@app/core';
import { WsMetrics, type Connection } from '@app/ws';
import { AppConfig } from '../config';
import { ClusterQuery } from '../cluster';

/** Users asked about in one cluster look-up (the presence query's own bound). */
const BATCH_USERS = 100;
/** Arrivals gathered before one look-up checks them all: a reconnect storm costs few queries. */
const BATCH_MS = 50;

/**
 * `MAX_CONNECTIONS_PER_USER`, counted across the cluster without delaying any welcome: the local
 * count is checked at once, the cluster count right after, in batches, from the presence
 * look-up every replica already answers. A connection that takes its user past the limit is closed
 * with 1008 `connection limit`, this replica's latest unchecked arrivals first. Arrivals of one
 * user checked on two replicas at the same instant may close an earlier one (its replica's check
 * ran first) or one more than needed: the limit errs on the strict side.
 */
@Injectable()
export class ConnectionQuota implements OnApplicationShutdown {
  /** Connections admitted locally and not yet checked across the cluster, by user, oldest first. */
  private readonly arrivals = new Map<string, Connection[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly cluster: ClusterQuery,
    private readonly config: AppConfig,
    private readonly metrics: WsMetrics,
  ) {}

  /**
   * `conn` of `userId` just connected; `localCount` counts the user's connections on this replica,
   * `conn` included. False when it is refused (and closed) at once.
   */
  admit(conn: Connection, userId: string, localCount: number): boolean {
    if (localCount > this.config.limits.maxConnectionsPerUser) {
      this.refuse(conn);
      return false;
    }
    const pending = this.arrivals.get(userId);
    if (pending) pending.push(conn);
    else this.arrivals.set(userId, [conn]);
    this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
    return true;
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.arrivals.clear();
  }

  private flush(): void {
    this.timer = undefined;
    const batch = new Map<string, Connection[]>();
    for (const [userId, conns] of this.arrivals) {
      if (batch.size === BATCH_USERS) break;
      batch.set(userId, conns);
      this.arrivals.delete(userId);
    }
    if (this.arrivals.size > 0) this.timer = setTimeout(() => this.flush(), BATCH_MS);
    void this.check(batch);
  }

  private async check(batch: Map<string, Connection[]>): Promise<void> {
    let counts: Map<string, number>;
    try {
      counts = await this.cluster.gather({ users: [...batch.keys()] });
    } catch {
      return; // The broker is away: the local limit still holds, and nobody else can be asked.
    }
    const max = this.config.limits.maxConnectionsPerUser;
    for (const [userId, conns] of batch) {
      let excess = (counts.get(userId) ?? 0) - max;
      for (let i = conns.length - 1; i >= 0 && excess > 0; i--) {
        const conn = conns[i]!;
        if (!conn.isOpen) continue;
        this.refuse(conn);
        excess--;
      }
    }
  }

  private refuse(conn: Connection): void {
    this.metrics.limitRefusals.MAX_CONNECTIONS_PER_USER.inc();
    conn.close(CloseCode.PolicyViolation, 'connection limit');
  }
}
