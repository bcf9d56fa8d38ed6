import { Registry } from 'prom-client';
import { WsMetrics, type Connection } from '@app/ws';
import { loadConfig } from '../config';
import { ConnectionQuota } from './connection-quota';
import type { ClusterQuery } from '../cluster';

/** A connection as the quota sees it: open until closed, with its close recorded. */
function connection(): Connection & { closedWith?: [number, string] } {
  const conn = {
    isOpen: true,
    closedWith: undefined as [number, string] | undefined,
    close(code: number, reason: string) {
      conn.isOpen = false;
      conn.closedWith = [code, reason];
    },
  };
  return conn as unknown as Connection & { closedWith?: [number, string] };
}

describe(ConnectionQuota.name, () => {
  /** The cluster's answer: every user asked has `counts[user]` connections (default 1). */
  let counts: Map<string, number>;
  let queries: string[][];
  let sut: ConnectionQuota;

  beforeEach(() => {
    jest.useFakeTimers();
    counts = new Map();
    queries = [];
    const cluster = {
      gather: ({ users }: { users: string[] }) => {
        queries.push(users);
        return Promise.resolve(new Map(users.map((u) => [u, counts.get(u) ?? 1])));
      },
    } as unknown as ClusterQuery;
    const config = loadConfig({ MAX_CONNECTIONS_PER_USER: '2' });
    sut = new ConnectionQuota(cluster, config, new WsMetrics(new Registry()));
  });
  afterEach(() => {
    sut.onApplicationShutdown();
    jest.useRealTimers();
  });

  const settle = async () => {
    await jest.advanceTimersByTimeAsync(1_000);
  };

  it('refuses at once, before any look-up, past the limit on this replica alone', () => {
    const third = connection();
    expect(sut.admit(third, 'u', 3)).toBe(false);
    expect(third.closedWith).toEqual([1008, 'connection limit']);
    expect(queries).toEqual([]);
  });

  it('asks the cluster after admitting, in batches of at most 100 users', async () => {
    const arrivals = Array.from({ length: 250 }, (_, i) => [`user-${i}`, connection()] as const);
    // Synchronous: nothing a welcome would wait for.
    for (const [user, conn] of arrivals) expect(sut.admit(conn, user, 1)).toBe(true);
    expect(queries).toEqual([]);
    await settle();
    expect(queries.map((q) => q.length)).toEqual([100, 100, 50]);
    expect(arrivals.every(([, conn]) => conn.isOpen)).toBe(true);
  });

  it('closes the latest arrivals past the cluster-wide limit', async () => {
    const [first, second, third] = [connection(), connection(), connection()];
    counts.set('u', 4); // two more on other replicas
    sut.admit(first, 'u', 1);
    sut.admit(second, 'u', 2);
    sut.admit(third, 'other', 1);
    await settle();
    expect([first.isOpen, second.isOpen, third.isOpen]).toEqual([false, false, true]);
    expect(second.closedWith).toEqual([1008, 'connection limit']);
  });

  it('keeps connections when the cluster cannot be asked (the local limit still holds)', async () => {
    const cluster = { gather: () => Promise.reject(new Error('broker away')) };
    const quota = new ConnectionQuota(
      cluster as unknown as ClusterQuery,
      loadConfig({ MAX_CONNECTIONS_PER_USER: '1' }),
      new WsMetrics(new Registry()),
    );
    const conn = connection();
    expect(quota.admit(conn, 'u', 1)).toBe(true);
    await settle();
    expect(conn.isOpen).toBe(true);
    quota.onApplicationShutdown();
  });
});
