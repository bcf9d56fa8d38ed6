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
  replicaOf,
  resumeBreakdown,
  spread,
  startChildReplicas,
  waitFor,
  waitForMarkers,
  type Member,
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
  let nats: NatsServerHandle;
  let replicas: ChildReplica[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startChildReplicas(['kill-a', 'kill-b'], nats.url);
  });

  afterAll(async () => {
    await closeAll(members);
    await Promise.all(replicas.map((r) => r.close()));
    await nats?.stop();
  });

  it('every client ends with all 1,000 acknowledged messages, in order, exactly once', async () => {
    const log = progress('kill');
    const [a, b] = replicas as [ChildReplica, ChildReplica];
    const sender = openFleet(members, {
      prefix: 'kill',
      count: CLIENTS,
      roomsOf: () => [ROOM],
      urlsOf: (i) => (i % 2 === 0 ? [a.wsUrl, b.wsUrl] : [b.wsUrl, a.wsUrl]),
      publisher: { rooms: [ROOM], urls: [a.wsUrl, b.wsUrl] },
    });
    await joinAll(members, 20_000);
    expect(spread(members)).toEqual({ [a.id]: CLIENTS / 2 + 1, [b.id]: CLIENTS / 2 });
    const idempotent = await chatSendTakesKey(sender.client, ROOM);
    log(
      `${members.length} SDK clients joined ${ROOM}: ${JSON.stringify(spread(members))}; key: ${idempotent}`,
    );

    const publisher = new Publisher(sender.client, {
      rooms: [ROOM],
      count: MESSAGES,
      ratePerSecond: RATE,
      idempotent,
      tag: 'kill',
    });
    publisher.start();
    await publisher.waitForAcks(KILL_AT, 20_000);

    const killedAt = Date.now();
    const exit = await a.kill();
    expect(exit.signal).toBe('SIGKILL');
    log(`SIGKILL ${a.id} at ${publisher.acked} acknowledged`);

    await waitFor(
      `every client live again on ${b.id}`,
      () => members.every((m) => m.client.state === 'live' && replicaOf(m) === b.id),
      15_000,
      () => JSON.stringify(spread(members)),
    );
    const moved = members.filter((m) => m.replicas[0] === a.id);
    const resumedMs = Math.max(...moved.map((m) => m.liveAt)) - killedAt;
    log(`${moved.length} clients of ${a.id} live on ${b.id} within ${resumedMs} ms of the kill`);
    log(resumeBreakdown(moved, killedAt));

    await waitFor(
      'the publisher to finish',
      () => publisher.acked === MESSAGES,
      30_000,
      () => publisher.summary(),
    );
    await publisher.done;
    await publisher.finish(10_000);
    log(`publisher: ${publisher.summary()}`);
    const tookMs = await waitForMarkers(members, publisher, 20_000);
    // Anything out of place (a late repeat) would arrive right behind the marker.
    await delay(300);
    log(`every client has the end marker (${tookMs} ms after it was acknowledged)`);

    const report = checkDelivery(members, publisher);
    log(
      `checked ${members.length} clients: ${report.perRoom[ROOM]} messages each; repeated bodies ${report.duplicateBodies}, unacknowledged ${report.unacknowledged}`,
    );
    expect(report.problems).toEqual([]);
    // 1,000 and the end marker.
    expect(report.perRoom[ROOM]).toBe(MESSAGES + 1 + (idempotent ? 0 : report.duplicateBodies));
    expect(moved).toHaveLength(CLIENTS / 2 + 1);
  }, 90_000);
});
