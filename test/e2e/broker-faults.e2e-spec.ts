import {
  startNatsServer,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

const readiness = (app: TestApp) => fetch(`${app.url}/health/ready`).then((r) => r.status);

describe('broker faults: NATS goes away and comes back', () => {
  let nats: NatsServerHandle;
  let a: TestApp;
  let b: TestApp;
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    [a, b] = await Promise.all([
      startReplica({ NATS_URL: nats.url, REPLICA_ID: 'fa' }),
      startReplica({ NATS_URL: nats.url, REPLICA_ID: 'fb' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a?.close(), b?.close()]);
    await nats?.stop();
  });

  it('keeps connections, turns unready, refuses with unavailable, then recovers by itself', async () => {
    const writer = await WsTestClient.open(a.wsUrl, { token: tokenFor('w') });
    const reader = await WsTestClient.open(b.wsUrl, { token: tokenFor('r') });
    clients.push(writer, reader);
    await writer.call('chat.join', { room: 'outage' });
    const joined = await reader.call<{ epoch: string }>('chat.join', { room: 'outage' });
    const before = await writer.call<{ seq: number }>('chat.send', {
      room: 'outage',
      body: 'before',
    });
    expect((await reader.nextEvent<{ seq: number }>('chat.message')).data.seq).toBe(before.seq);

    await nats.kill();
    await waitFor('readiness to turn 503', async () => (await readiness(a)) === 503);
    const refused = await writer.request('chat.send', { room: 'outage', body: 'during' });
    expect(refused).toMatchObject({ event: 'error', data: { code: 'unavailable' } });
    // A history page is refused at once too, not after the broker request's timeout.
    const page = await reader.request('chat.history', { room: 'outage' });
    expect(page).toMatchObject({ event: 'error', data: { code: 'unavailable' } });
    // The sockets stay open through the outage.
    expect(writer.socket.readyState).toBe(writer.socket.OPEN);
    expect(reader.socket.readyState).toBe(reader.socket.OPEN);
    expect((await fetch(`${a.url}/health/live`)).status).toBe(200);

    await nats.restart();
    await waitFor(
      'both replicas to be ready again',
      async () => (await readiness(a)) === 200 && (await readiness(b)) === 200,
    );
    // Subscriptions were restored: a message sent now reaches the reader live.
    const after = await writer.call<{ seq: number }>('chat.send', {
      room: 'outage',
      body: 'after',
    });
    const live = await reader.nextEvent<{ seq: number; body: string }>('chat.message');
    expect(live.data).toMatchObject({ seq: after.seq, body: 'after' });
    // What was acknowledged before the outage is still in history, in the same epoch.
    const late = await WsTestClient.open(a.wsUrl, { token: tokenFor('late') });
    clients.push(late);
    const resumed = await late.call<{ recovered: boolean; epoch: string }>('chat.join', {
      room: 'outage',
      since: 0,
      epoch: joined.epoch,
    });
    expect(resumed).toMatchObject({ recovered: true, epoch: joined.epoch });
    const replayed = await late.take<{ body: string }>('chat.message', 2);
    expect(replayed.map((m) => m.body)).toEqual(['before', 'after']);
  });
});
