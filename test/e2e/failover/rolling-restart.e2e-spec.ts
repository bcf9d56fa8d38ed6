import { startNatsServer, type NatsServerHandle } from '@app/testing';
import type { ChildReplica } from '../../support/child-replica';
import {
  chatSendTakesKey,
  checkDelivery,
  closeAll,
  delay,
  joinAll,
  openFleet,
  progress,
  Publisher,
  readiness,
  replicaOf,
  spread,
  startChildReplicas,
  urlsFor,
  waitFor,
  waitForMarkers,
  type Member,
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
  let nats: NatsServerHandle;
  let replicas: ChildReplica[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startChildReplicas(['roll-a', 'roll-b', 'roll-c'], nats.url, {
      DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS),
    });
  });

  afterAll(async () => {
    await closeAll(members);
    await Promise.all(replicas.map((r) => r.close()));
    await nats?.stop();
  });

  it('every client ends with everything, exactly once, in order', async () => {
    const log = progress('rolling');
    const urls = replicas.map((r) => r.wsUrl);
    const sender = openFleet(members, {
      prefix: 'roll',
      count: CLIENTS,
      roomsOf: () => [ROOM],
      urlsOf: (i) => urlsFor(i, urls),
      publisher: { rooms: [ROOM], urls: urls },
    });
    await joinAll(members, 20_000);
    for (const r of replicas) expect(spread(members)[r.id]).toBeGreaterThanOrEqual(15);
    const idempotent = await chatSendTakesKey(sender.client, ROOM);
    log(
      `${members.length} SDK clients joined ${ROOM}: ${JSON.stringify(spread(members))}; key: ${idempotent}`,
    );

    const publisher = new Publisher(sender.client, {
      rooms: [ROOM],
      count: MESSAGES,
      ratePerSecond: RATE,
      idempotent,
      tag: 'rolling',
    });
    publisher.start();
    await publisher.waitForAcks(100, 20_000);

    const rollStarted = Date.now();
    for (const replica of replicas) {
      const had = members.filter((m) => replicaOf(m) === replica.id);
      const termAt = Date.now();
      const exit = await replica.terminate(DRAIN_WINDOW_MS + 10_000);
      expect(exit).toEqual({ code: 0, signal: null });
      const drainMs = Date.now() - termAt;
      // Every client it had is elsewhere now, live.
      await waitFor(
        `the ${had.length} clients of ${replica.id} to be live on another replica`,
        () => had.every((m) => m.client.state === 'live' && replicaOf(m) !== replica.id),
        10_000,
        () => JSON.stringify(spread(members)),
      );
      const movedMs = Date.now() - termAt;
      const startAt = Date.now();
      await replica.restart();
      expect(await readiness(replica)).toBe(200);
      log(
        `${replica.id}: SIGTERM → exit 0 in ${drainMs} ms, its ${had.length} clients live elsewhere after ${movedMs} ms, ` +
          `new process ready in ${Date.now() - startAt} ms; ${publisher.acked} acknowledged; ${JSON.stringify(spread(members))}`,
      );
    }
    const rollMs = Date.now() - rollStarted;
    const ackedAtEnd = publisher.acked;
    log(
      `roll of ${replicas.length} replicas took ${rollMs} ms; ${ackedAtEnd} acknowledged by then`,
    );

    await waitFor(
      'the publisher to finish',
      () => publisher.acked === MESSAGES,
      30_000,
      () => publisher.summary(),
    );
    await publisher.done;
    await publisher.finish(10_000);
    log(`publisher: ${publisher.summary()}`);
    await waitForMarkers(members, publisher, 20_000);
    await delay(300);

    const report = checkDelivery(members, publisher);
    log(
      `checked ${members.length} clients: ${report.perRoom[ROOM]} messages each; repeated bodies ${report.duplicateBodies}, unacknowledged ${report.unacknowledged}`,
    );
    expect(report.problems).toEqual([]);
    expect(report.perRoom[ROOM]).toBe(MESSAGES + 1 + (idempotent ? 0 : report.duplicateBodies));
    // The roll happened under load: messages were still being sent when it ended.
    expect(ackedAtEnd).toBeLessThan(MESSAGES);
    // Every client was moved at least twice (each replica it landed on was restarted later or before).
    for (const m of members) expect(m.replicas.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
