import { ChildReplica } from '../child-replica';
import { delay } from './waits';

// Replicas of the build as child processes, and their readiness.

/**
 * Environment every failover replica gets. The publisher sends faster than the default per-socket
 * rate limit (100 frames/s) allows, so the limit is raised; everything else keeps its default.
 */
export const REPLICA_ENV: Readonly<Record<string, string>> = {
  WS_RATE_PER_SECOND: '1000',
  WS_RATE_BURST: '2000',
};

/** Starts `ids.length` child replicas of the build in parallel (all or none). */
export async function startChildReplicas(
  ids: readonly string[],
  natsUrl: string,
  env: Record<string, string> = {},
): Promise<ChildReplica[]> {
  const results = await Promise.allSettled(
    ids.map((id) => ChildReplica.start({ id, natsUrl, env: { ...REPLICA_ENV, ...env } })),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((r) => r.close()));
    throw failed.reason;
  }
  return started;
}

/** `GET /health/ready`'s status, 0 when nothing answers. */
export function readiness(replica: ChildReplica): Promise<number> {
  return fetch(`${replica.url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 0,
  );
}

/**
 * Samples every replica's readiness until `stop()`, which returns, per replica id, when it was
 * first and last seen not ready (ms after the watch started), or nothing if it never was.
 */
export function watchReadiness(
  replicas: readonly ChildReplica[],
  intervalMs = 100,
): { stop(): Promise<Record<string, { firstMs: number; lastMs: number } | null>> } {
  const started = Date.now();
  const seen: Record<string, { firstMs: number; lastMs: number } | null> = {};
  for (const r of replicas) seen[r.id] = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now() - started;
      const statuses = await Promise.all(replicas.map((r) => readiness(r)));
      replicas.forEach((r, i) => {
        if (statuses[i] === 200) return;
        const entry = seen[r.id];
        if (entry) entry.lastMs = at;
        else seen[r.id] = { firstMs: at, lastMs: at };
      });
      await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** The ids of replicas whose readiness is not `status`. */
export async function notReady(replicas: readonly ChildReplica[], status = 200): Promise<string[]> {
  const statuses = await Promise.all(replicas.map((r) => readiness(r)));
  return replicas.filter((_, i) => statuses[i] !== status).map((r) => r.id);
}
