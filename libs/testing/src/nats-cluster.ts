import { connect } from 'nats';
import { freePort } from './free-port';
import { startNatsServer, type NatsServerHandle } from './nats-server';

export interface NatsClusterHandle {
  readonly nodes: readonly NatsServerHandle[];
  /** Every node's client URL, comma-separated: what `NATS_URL` takes. */
  readonly url: string;
  stop(): Promise<void>;
}

const JETSTREAM_READY_TIMEOUT_MS = 30_000;

/**
 * Starts `size` nats-servers with JetStream, routed to each other on loopback as one cluster, and
 * resolves once JetStream answers (the cluster has elected its meta leader), so a stream with
 * `num_replicas: size` can be created at once.
 */
export async function startNatsCluster(size = 3): Promise<NatsClusterHandle> {
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
  const nodes = await Promise.all(
    routePorts.map((port, i) =>
      startNatsServer({
        args: [
          '--server_name',
          `n${i + 1}`,
          '--cluster_name',
          'rt-test',
          '--cluster',
          `nats://127.0.0.1:${port}`,
          '--routes',
          routes,
        ],
      }),
    ),
  );
  const url = nodes.map((n) => n.url).join(',');
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    await waitForJetStream(url);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, url, stop };
}

async function waitForJetStream(url: string): Promise<void> {
  const nc = await connect({ servers: url.split(',') });
  const deadline = Date.now() + JETSTREAM_READY_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        const jsm = await nc.jetstreamManager({ timeout: 1000 });
        await jsm.getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(
            `JetStream cluster not ready within ${JETSTREAM_READY_TIMEOUT_MS} ms: ${(error as Error).message}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await nc.close();
  }
}
