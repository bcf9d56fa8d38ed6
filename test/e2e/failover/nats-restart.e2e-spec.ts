import { startNatsServer, type NatsServerHandle } from '@app/testing';
import type { ChildReplica } from '../../support/child-replica';
import {
  chatSendTakesKey,
  checkDelivery,
  closeAll,
  delay,
  joinAll,
  notReady,
  openFleet,
  openMember,
  progress,
  Publisher,
  spread,
  startChildReplicas,
  urlsFor,
  waitFor,
  waitForMarkers,
  type Member,
} from '../../support/failover';

/**
 * 4c. Two replicas of the build on one nats-server (JetStream on disk), 50 SDK clients in one room
 * spread over them, a publisher sending 1,000 messages. At the 300th acknowledged message the
 * nats-server is killed (SIGKILL), stays down for OUTAGE_MS, and is started again on the same
 * port and store. History keeps 5,000 per channel here so that a client joining afterwards from
 * seq 0 can read back every message the room ever had.
 */
const CLIENTS = 50;
const MESSAGES = 1000;
const KILL_AT = 300;
const RATE = 200;
const OUTAGE_MS = 2000;
const ROOM = 'failover-nats-restart';

describe('failover: nats-server restarts under load', () => {
  let nats: NatsServerHandle;
  let replicas: ChildReplica[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startChildReplicas(['natsr-a', 'natsr-b'], nats.url, {
      HISTORY_MAX_MESSAGES: '5000',
    });
  });

  afterAll(async () => {
    await closeAll(members);
    await Promise.all(replicas.map((r) => r.close()));
    await nats?.stop();
  });

  it('replicas come back, readiness follows, nothing acknowledged is lost', async () => {
    const log = progress('nats-restart');
    const urls = replicas.map((r) => r.wsUrl);
    const sender = openFleet(members, {
      prefix: 'natsr',
      count: CLIENTS,
      roomsOf: () => [ROOM],
      urlsOf: (i) => urlsFor(i, urls),
      publisher: { rooms: [ROOM], urls: urls },
    });
    await joinAll(members, 20_000);
    const epoch = (await sender.client.join(ROOM)).epoch;
    const idempotent = await chatSendTakesKey(sender.client, ROOM);
    log(
      `${members.length} SDK clients joined ${ROOM}: ${JSON.stringify(spread(members))}; key: ${idempotent}`,
    );

    const publisher = new Publisher(sender.client, {
      rooms: [ROOM],
      count: MESSAGES,
      ratePerSecond: RATE,
      idempotent,
      tag: 'nats-restart',
    });
    publisher.start();
    await publisher.waitForAcks(KILL_AT, 20_000);

    await nats.kill();
    const killedAt = Date.now();
    const ackedAtKill = publisher.acked;
    const unreadyIn = await waitFor(
      'every replica to report 503 on /health/ready',
      async () => (await notReady(replicas, 503)).length === 0,
      5000,
    );
    log(
      `nats-server killed at ${ackedAtKill} acknowledged; all replicas 503 within ${unreadyIn} ms`,
    );
    await delay(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));
    const ackedInOutage = publisher.acked - ackedAtKill;
    // The sockets stay open through the outage: nobody reconnected.
    expect(members.every((m) => m.replicas.length === 1 && m.client.state === 'live')).toBe(true);

    const restartAt = Date.now();
    await nats.restart();
    const natsUpMs = Date.now() - restartAt;
    const readyIn = await waitFor(
      'every replica to report 200 on /health/ready after the restart',
      async () => (await notReady(replicas)).length === 0,
      15_000,
      () => `down for ${Date.now() - killedAt} ms`,
    );
    const failuresAtReady = Object.fromEntries(publisher.failures);
    log(
      `nats-server back in ${natsUpMs} ms (outage ${restartAt + natsUpMs - killedAt} ms); all replicas ready ` +
        `${readyIn} ms later; acknowledged during the outage: ${ackedInOutage}; failures so far ${JSON.stringify(failuresAtReady)}`,
    );
    expect(ackedInOutage).toBe(0);

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

    // A client that joins now, from seq 0 in the first epoch, reads the room's whole history back.
    const late = openMember({ name: 'late-reader', user: 'natsr-late', rooms: [ROOM], urls });
    members.push(late);
    const replay = await late.client.join(ROOM, { seq: 0, epoch });
    expect(replay).toMatchObject({ epoch, recovered: true });
    await waitForMarkers([late], publisher, 10_000);

    const report = checkDelivery(members, publisher);
    log(
      `checked ${members.length} clients (one read history from seq 0): ${report.perRoom[ROOM]} messages each; ` +
        `repeated bodies ${report.duplicateBodies}, unacknowledged ${report.unacknowledged}`,
    );
    const gapFills = replicas.map(
      (r) => `${r.id} ${r.output.split('live gap filled from history').length - 1}`,
    );
    log(`live gaps filled from history (Nats-Last-Sequence): ${gapFills.join(', ')}`);
    expect(report.problems).toEqual([]);
    expect(report.perRoom[ROOM]).toBe(MESSAGES + 1 + (idempotent ? 0 : report.duplicateBodies));
    expect(members.every((m) => m.client.state === 'live')).toBe(true);
  }, 90_000);
});
