import { startNatsServer } from '@app/testing';
import {
  expectDelivered,
  readiness,
  replicaOf,
  spread,
  startScenario,
  useRig,
  waitFor,
} from '../../support/failover';

/**
 * 4b. Three replicas of the build on one nats-server, 50 SDK clients in one room spread over them,
 * a publisher sending 1,000 messages. Each replica in turn: SIGTERM (drain over DRAIN_WINDOW_MS,
 * exit 0), start a new process on its port, wait until it is ready, go on with the next.
 */
const CLIENTS = 50;
const MESSAGES = 1000;
/** Paced so that the whole roll (about 3 x 2.2 s here) happens while messages flow. */
const RATE = 100;
const DRAIN_WINDOW_MS = 1000;
const ROOM = 'failover-rolling';

describe('failover: rolling restart of a three-replica cluster under load', () => {
  const rig = useRig(startNatsServer, ['roll-a', 'roll-b', 'roll-c'], {
    DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS),
  });

  it('every client ends with everything, exactly once, in order', async () => {
    const s = await startScenario(rig, {
      scope: 'rolling',
      prefix: 'roll',
      clients: CLIENTS,
      rooms: [ROOM],
    });
    for (const r of rig.replicas) expect(spread(s.members)[r.id]).toBeGreaterThanOrEqual(15);
    s.logJoined();

    const publisher = s.publish(MESSAGES, RATE);
    await publisher.waitForAcks(100, 20_000);

    const rollStarted = Date.now();
    for (const replica of rig.replicas) {
      const had = s.members.filter((m) => replicaOf(m) === replica.id);
      const termAt = Date.now();
      const exit = await replica.terminate(DRAIN_WINDOW_MS + 10_000);
      expect(exit).toEqual({ code: 0, signal: null });
      const drainMs = Date.now() - termAt;
      // Every client it had is elsewhere now, live.
      await waitFor(
        `the ${had.length} clients of ${replica.id} to be live on another replica`,
        () => had.every((m) => m.client.state === 'live' && replicaOf(m) !== replica.id),
        10_000,
        () => JSON.stringify(spread(s.members)),
      );
      const movedMs = Date.now() - termAt;
      const startAt = Date.now();
      await replica.restart();
      expect(await readiness(replica)).toBe(200);
      s.log(
        `${replica.id}: SIGTERM → exit 0 in ${drainMs} ms, its ${had.length} clients live elsewhere after ${movedMs} ms, ` +
          `new process ready in ${Date.now() - startAt} ms; ${publisher.acked} acknowledged; ${JSON.stringify(spread(s.members))}`,
      );
    }
    const rollMs = Date.now() - rollStarted;
    const ackedAtEnd = publisher.acked;
    s.log(
      `roll of ${rig.replicas.length} replicas took ${rollMs} ms; ${ackedAtEnd} acknowledged by then`,
    );

    await s.finishPublishing(publisher);

    expectDelivered(s.check(publisher), publisher);
    // The roll happened under load: messages were still being sent when it ended.
    expect(ackedAtEnd).toBeLessThan(MESSAGES);
    // Every client was moved at least twice (each replica it landed on was restarted later or before).
    for (const m of s.members) expect(m.replicas.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
