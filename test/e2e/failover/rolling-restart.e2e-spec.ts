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
/** More than the roll can take at RATE: the publisher is stopped when the roll ends. */
const MESSAGES = 100_000;
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
    const ackedAtStart = publisher.acked;
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
    // The roll happened under load: the publisher ran from before the first SIGTERM to its end.
    publisher.stop();
    const ackedAtEnd = publisher.acked;
    s.log(
      `roll of ${rig.replicas.length} replicas took ${rollMs} ms; ${ackedAtEnd} acknowledged by then`,
    );

    await s.finishPublishing(publisher);

    expectDelivered(s.check(publisher), publisher);
    // Sends went on through the roll (none of it stalled the publisher for good).
    expect(ackedAtEnd).toBeGreaterThan(ackedAtStart);
    // Every client was moved at least twice (each replica it landed on was restarted later or before).
    for (const m of s.members) expect(m.replicas.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
