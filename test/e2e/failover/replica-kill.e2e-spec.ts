import { startNatsServer } from '@app/testing';
import type { ChildReplica } from '../../support/child-replica';
import {
  expectDelivered,
  replicaOf,
  resumeBreakdown,
  spread,
  startScenario,
  useRig,
  waitFor,
} from '../../support/failover';

/**
 * 4a. Two replicas of the build on one nats-server, 50 SDK clients in one room (25 on each), a
 * publisher on the replica that is killed. SIGKILL it at the 300th acknowledged message of 1,000.
 */
const CLIENTS = 50;
const MESSAGES = 1000;
const KILL_AT = 300;
const RATE = 200;
const ROOM = 'failover-kill';

describe('failover: a replica is killed with SIGKILL under load', () => {
  const rig = useRig(startNatsServer, ['kill-a', 'kill-b']);

  it('every client ends with all 1,000 acknowledged messages, in order, exactly once', async () => {
    const [a, b] = rig.replicas as [ChildReplica, ChildReplica];
    const s = await startScenario(rig, {
      scope: 'kill',
      prefix: 'kill',
      clients: CLIENTS,
      rooms: [ROOM],
      urlsOf: (i) => (i % 2 === 0 ? [a.wsUrl, b.wsUrl] : [b.wsUrl, a.wsUrl]),
    });
    expect(spread(s.members)).toEqual({ [a.id]: CLIENTS / 2 + 1, [b.id]: CLIENTS / 2 });
    s.logJoined();

    const publisher = s.publish(MESSAGES, RATE);
    await publisher.waitForAcks(KILL_AT, 20_000);

    const killedAt = Date.now();
    const exit = await a.kill();
    expect(exit.signal).toBe('SIGKILL');
    s.log(`SIGKILL ${a.id} at ${publisher.acked} acknowledged`);

    await waitFor(
      `every client live again on ${b.id}`,
      () => s.members.every((m) => m.client.state === 'live' && replicaOf(m) === b.id),
      15_000,
      () => JSON.stringify(spread(s.members)),
    );
    const moved = s.members.filter((m) => m.replicas[0] === a.id);
    const resumedMs = Math.max(...moved.map((m) => m.liveAt)) - killedAt;
    s.log(`${moved.length} clients of ${a.id} live on ${b.id} within ${resumedMs} ms of the kill`);
    s.log(resumeBreakdown(moved, killedAt));

    const tookMs = await s.finishPublishing(publisher);
    s.log(`every client has the end marker (${tookMs} ms after it was acknowledged)`);

    // 1,000 and the end marker.
    expectDelivered(s.check(publisher), publisher);
    expect(moved).toHaveLength(CLIENTS / 2 + 1);
  }, 90_000);
});
