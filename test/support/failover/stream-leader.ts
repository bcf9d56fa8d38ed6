import { connect as natsConnect, type StreamInfo } from 'nats';
import { waitFor } from './waits';

// Moving and finding the history stream's leader in a NATS cluster.

/**
 * Makes the node named `target` lead stream `stream`: asks the current leader to step down until
 * the election lands there. nats-server 2.9 hands leadership to a peer that is current, so each
 * step-down waits for `target` to be current first (on a loaded machine a follower may lag).
 * Resolves with the number of step-downs it took.
 */
export async function moveStreamLeader(
  natsUrl: string,
  stream: string,
  target: string,
  attempts = 12,
): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const leader = await waitForLeader(natsUrl, stream, 10_000);
    if (leader === target) return i;
    await waitFor(
      `node ${target} to be a current replica of stream ${stream}`,
      async () => (await streamPeers(natsUrl, stream).catch(() => new Map())).get(target) === true,
      10_000,
      undefined,
      100,
    );
    const nc = await natsConnect({ servers: natsUrl.split(',') });
    try {
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 5000 });
    } finally {
      await nc.close();
    }
    await waitFor(
      `stream ${stream} to leave leader ${leader}`,
      async () => ((await streamLeader(natsUrl, stream).catch(() => leader)) ?? leader) !== leader,
      10_000,
      undefined,
      100,
    );
  }
  throw new Error(
    `stream ${stream}: could not move its leader to ${target} in ${attempts} step-downs`,
  );
}

/** Resolves with the stream's leader once it has one. */
export async function waitForLeader(
  natsUrl: string,
  stream: string,
  timeoutMs: number,
): Promise<string> {
  let leader: string | undefined;
  await waitFor(
    `stream ${stream} to have a leader`,
    async () => {
      leader = await streamLeader(natsUrl, stream).catch(() => undefined);
      return leader !== undefined;
    },
    timeoutMs,
    undefined,
    100,
  );
  return leader!;
}

/** The followers of stream `stream` by server name, each with whether it is current. */
async function streamPeers(natsUrl: string, stream: string): Promise<Map<string, boolean>> {
  const info = await streamInfo(natsUrl, stream);
  return new Map((info.cluster?.replicas ?? []).map((r) => [r.name, r.current]));
}

/** The server name (`--server_name`) of the leader of JetStream stream `stream`. */
export async function streamLeader(natsUrl: string, stream: string): Promise<string | undefined> {
  return (await streamInfo(natsUrl, stream)).cluster?.leader;
}

async function streamInfo(natsUrl: string, stream: string): Promise<StreamInfo> {
  const nc = await natsConnect({ servers: natsUrl.split(',') });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 1000 });
    return await jsm.streams.info(stream);
  } finally {
    await nc.close();
  }
}
