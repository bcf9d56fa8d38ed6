import { startNatsServer } from '@app/testing';
import {
  delay,
  expectDelivered,
  notReady,
  startScenario,
  useRig,
  waitFor,
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
  const rig = useRig(startNatsServer, ['natsr-a', 'natsr-b'], { HISTORY_MAX_MESSAGES: '5000' });

  it('replicas come back, readiness follows, nothing acknowledged is lost', async () => {
    const { nats, replicas } = rig;
    const s = await startScenario(rig, {
      scope: 'nats-restart',
      prefix: 'natsr',
      clients: CLIENTS,
      rooms: [ROOM],
    });
    s.logJoined();

    const publisher = s.publish(MESSAGES, RATE);
    await publisher.waitForAcks(KILL_AT, 20_000);

    await nats.kill();
    const killedAt = Date.now();
    const ackedAtKill = publisher.acked;
    const unreadyIn = await waitFor(
      'every replica to report 503 on /health/ready',
      async () => (await notReady(replicas, 503)).length === 0,
      5000,
    );
    s.log(
      `nats-server killed at ${ackedAtKill} acknowledged; all replicas 503 within ${unreadyIn} ms`,
    );
    await delay(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));
    const ackedInOutage = publisher.acked - ackedAtKill;
    // The sockets stay open through the outage: nobody reconnected.
    expect(s.members.every((m) => m.replicas.length === 1 && m.client.state === 'live')).toBe(true);

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
    s.log(
      `nats-server back in ${natsUpMs} ms (outage ${restartAt + natsUpMs - killedAt} ms); all replicas ready ` +
        `${readyIn} ms later; acknowledged during the outage: ${ackedInOutage}; failures so far ${JSON.stringify(failuresAtReady)}`,
    );
    expect(ackedInOutage).toBe(0);

    await s.finishPublishing(publisher);
    // A client that joins now, from seq 0 in the first epoch, reads the room's whole history back.
    await s.readHistoryFromStart(publisher);

    const report = s.check(publisher, ' (one read history from seq 0)');
    s.logGapFills();
    expectDelivered(report, publisher);
    expect(s.members.every((m) => m.client.state === 'live')).toBe(true);
  }, 90_000);
});
