import {
  startNatsServer,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import request from 'supertest';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

interface Change {
  room: string;
  userId: string;
}

const GRACE_MS = 400;
/**
 * Proving that something does not happen (no leave, nobody dropped) means letting its window pass:
 * no event marks the end of a window in which nothing happened.
 */
const outlast = (windowMs: number) => new Promise((resolve) => setTimeout(resolve, windowMs));
const pastGrace = () => outlast(GRACE_MS * 2);
const env = (nats: NatsServerHandle, id: string) => ({
  NATS_URL: nats.url,
  REPLICA_ID: id,
  PRESENCE_GRACE_MS: String(GRACE_MS),
  PRESENCE_HEARTBEAT_MS: '200',
  PRESENCE_SYNC_WINDOW_MS: '100',
});
const reader = tokenFor('ops', { scope: 'presence:read' });

describe('presence across replicas', () => {
  let nats: NatsServerHandle;
  let a: TestApp;
  let b: TestApp;
  const apps: TestApp[] = [];
  const clients: WsTestClient[] = [];

  const open = async (app: TestApp, user: string, room?: string) => {
    const client = await WsTestClient.open(app.wsUrl, { token: tokenFor(user) });
    clients.push(client);
    if (room) await client.call('chat.join', { room });
    return client;
  };
  /** The next presence event seen by `client` in `room`. */
  const nextChange = (client: WsTestClient, room: string) =>
    client.next<Change>(
      (f) => f.event.startsWith('presence.') && f.data.room === room,
      `presence in ${room}`,
    );
  const change = async (client: WsTestClient, room: string) => {
    const frame = await nextChange(client, room);
    return `${frame.event.slice('presence.'.length)} ${frame.data.userId}`;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    [a, b] = await Promise.all([startReplica(env(nats, 'a')), startReplica(env(nats, 'b'))]);
    apps.push(a, b);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(apps.map((app) => app.close()));
    await nats?.stop();
  });

  it('counts a user once however many connections, and announces join and leave exactly once', async () => {
    const observer = await open(a, 'observer', 'r1');
    expect(await change(observer, 'r1')).toBe('join observer');
    const tabs = [await open(a, 'u1', 'r1'), await open(b, 'u1', 'r1'), await open(b, 'u1', 'r1')];
    expect(await change(observer, 'r1')).toBe('join u1');
    await open(b, 'u2', 'r1');
    // u2's join comes next: a second join of u1 would have come before it.
    expect(await change(observer, 'r1')).toBe('join u2');
    expect(await observer.call('presence.query', { room: 'r1' })).toMatchObject({
      room: 'r1',
      users: ['observer', 'u1', 'u2'],
    });

    await Promise.all(tabs.map((t) => t.close()));
    expect(await change(observer, 'r1')).toBe('leave u1');
    await open(a, 'u3', 'r1');
    expect(await change(observer, 'r1')).toBe('join u3');
    const remote = await open(b, 'u4');
    expect(await remote.call('presence.query', { room: 'r1' })).toEqual({
      ref: expect.any(String),
      room: 'r1',
      users: ['observer', 'u2', 'u3'],
    });
  });

  it('hides a quick reconnect on another replica within the grace period', async () => {
    const observer = await open(a, 'watcher', 'r2');
    expect(await change(observer, 'r2')).toBe('join watcher');
    const first = await open(a, 'flaky', 'r2');
    expect(await change(observer, 'r2')).toBe('join flaky');
    await first.close();
    await open(b, 'flaky', 'r2');
    await open(b, 'marker', 'r2');
    expect(await change(observer, 'r2')).toBe('join marker');
    // Past the grace period: still no leave for flaky.
    await pastGrace();
    await open(a, 'marker2', 'r2');
    expect(await change(observer, 'r2')).toBe('join marker2');
  });

  it('answers who is online across the cluster, over WebSocket and REST', async () => {
    await open(a, 'olive');
    await open(b, 'olive');
    await open(b, 'peter');
    const asker = await open(a, 'asker');
    const { online } = await asker.call<{ online: Record<string, boolean> }>('presence.query', {
      users: ['olive', 'peter', 'nobody'],
    });
    expect(online).toEqual({ olive: true, peter: true, nobody: false });

    const olive = await request(a.app.getHttpServer())
      .get('/presence/users/olive')
      .set('authorization', `Bearer ${reader}`)
      .expect(200);
    expect(olive.body).toEqual({ userId: 'olive', online: true, connections: 2 });
    const room = await request(b.app.getHttpServer())
      .get('/presence/rooms/r1')
      .set('authorization', `Bearer ${reader}`)
      .expect(200);
    expect(room.body).toEqual({ room: 'r1', users: ['observer', 'u2', 'u3'] });
  });

  it('gives the same room members from any replica, users in their grace period included', async () => {
    // Replicas of their own with a grace period no test step can outlast.
    const long = { PRESENCE_GRACE_MS: '60000' };
    const [c, d] = await Promise.all([
      startReplica({ ...env(nats, 'c'), ...long }),
      startReplica({ ...env(nats, 'd'), ...long }),
    ]);
    apps.push(c, d);
    await open(c, 'stays', 'r-grace');
    const gone = await open(c, 'in-grace', 'r-grace');
    await gone.close();
    const get = (app: TestApp, path: string) =>
      request(app.app.getHttpServer()).get(path).set('authorization', `Bearer ${reader}`);
    await waitFor('c to see in-grace disconnected', async () => {
      const res = await get(c, '/presence/users/in-grace');
      return res.body.online === false;
    });
    const expected = { room: 'r-grace', users: ['in-grace', 'stays'] };
    // c has members in the room; d has none and gathers the answer from the cluster.
    expect((await get(c, '/presence/rooms/r-grace').expect(200)).body).toEqual(expected);
    expect((await get(d, '/presence/rooms/r-grace').expect(200)).body).toEqual(expected);
  });

  it('refuses REST without a token (401), without presence:read (403), and bad input (400)', async () => {
    const server = a.app.getHttpServer();
    await request(server).get('/presence/users/olive').expect(401);
    await request(server)
      .get('/presence/users/olive')
      .set('authorization', `Bearer ${tokenFor('x')}`)
      .expect(403);
    const badRoom = await request(server)
      .get('/presence/rooms/bad%20room')
      .set('authorization', `Bearer ${reader}`)
      .expect(400);
    expect(badRoom.body).toMatchObject({
      code: 'bad_request',
      fields: [{ field: 'room', message: 'room must be 1-128 of A-Za-z0-9._:-' }],
    });
    const longUser = await request(server)
      .get(`/presence/users/${'u'.repeat(257)}`)
      .set('authorization', `Bearer ${reader}`)
      .expect(400);
    expect(longUser.body).toMatchObject({
      code: 'bad_request',
      fields: [{ field: 'userId', message: 'userId is at most 256 characters' }],
    });
    const anon = await WsTestClient.open(a.wsUrl);
    clients.push(anon);
    expect(await anon.request('presence.query', { room: 'r1' })).toMatchObject({
      event: 'error',
      data: { code: 'unauthorized' },
    });
    const signed = await open(a, 'q');
    expect(await signed.request('presence.query', {})).toMatchObject({
      event: 'error',
      data: { code: 'bad_request' },
    });
  });

  it('gives a replica that starts late the current members at once', async () => {
    const late = await startReplica(env(nats, 'late'));
    apps.push(late);
    const newcomer = await open(late, 'newcomer', 'r1');
    const { users } = await newcomer.call<{ users: string[] }>('presence.query', { room: 'r1' });
    expect(users).toEqual(['newcomer', 'observer', 'u2', 'u3']);
  });

  it('does not flap when a replica drains: its users come back elsewhere within the grace period', async () => {
    const c = await startReplica(env(nats, 'c'));
    apps.push(c);
    const observer = await open(a, 'calm', 'r3');
    expect(await change(observer, 'r3')).toBe('join calm');
    const mover = await open(c, 'mover', 'r3');
    expect(await change(observer, 'r3')).toBe('join mover');
    const closing = c.close();
    expect((await mover.closed).code).toBe(1012);
    await open(b, 'mover', 'r3');
    await closing;
    await pastGrace();
    await open(a, 'after-drain', 'r3');
    expect(await change(observer, 'r3')).toBe('join after-drain');
  });
});

describe('presence through a NATS outage', () => {
  it('drops nobody while the broker is away, refuses look-ups meanwhile, and is whole again after', async () => {
    const nats = await startNatsServer();
    const [a, b] = await Promise.all([
      startReplica(env(nats, 'oa')),
      startReplica(env(nats, 'ob')),
    ]);
    const ua = await WsTestClient.open(a.wsUrl, { token: tokenFor('ua') });
    const ub = await WsTestClient.open(b.wsUrl, { token: tokenFor('ub') });
    try {
      await ua.call('chat.join', { room: 'storm' });
      await ub.call('chat.join', { room: 'storm' });
      const both = async (c: WsTestClient) =>
        (
          (await c.call<{ users: string[] }>('presence.query', { room: 'storm' })).users ?? []
        ).join();
      expect(await both(ua)).toBe('ua,ub');

      await nats.kill();
      const ready = (app: TestApp) => fetch(`${app.url}/health/ready`).then((r) => r.status);
      await waitFor('readiness to turn 503', async () => (await ready(a)) === 503);
      expect(await ua.request('presence.query', { room: 'storm' })).toMatchObject({
        event: 'error',
        data: { code: 'unavailable' },
      });
      // Longer than the 3 missed heartbeats that would drop a replica, plus the grace period.
      await outlast(200 * 4 + GRACE_MS * 2);
      await nats.restart();
      await waitFor(
        'both replicas to be ready again',
        async () => (await ready(a)) === 200 && (await ready(b)) === 200,
      );
      expect(await both(ua)).toBe('ua,ub');
      expect(await both(ub)).toBe('ua,ub');
      // Nobody left: the only presence frames ever seen are the two joins each.
      const seen = (c: WsTestClient) =>
        c.unread
          .filter((f) => f.event.startsWith('presence.'))
          .map((f) => `${f.event} ${String(f.data.userId)}`);
      expect(seen(ua)).toEqual(['presence.join ua', 'presence.join ub']);
    } finally {
      await Promise.all([ua.close(), ub.close()]);
      await Promise.all([a.close(), b.close()]);
      await nats.stop();
    }
  });
});
