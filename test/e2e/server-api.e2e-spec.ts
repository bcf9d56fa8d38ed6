import {
  startNatsServer,
  startReplicas,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type Replicas,
  type TestApp,
} from '@app/testing';
import type { ChatHistoryReply, ChatMessage, Published } from '@app/protocol';
import { connect as connectSdk, type ClientError } from '@app/client';
import { connect, type NatsConnection } from 'nats';
import { WebSocket } from 'ws';
import request from 'supertest';
import { ClusterMembership } from '../../src/cluster';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

const bearer = (scope?: string) => `Bearer ${tokenFor('deploy-bot', { scope })}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The server API for other services: REST with scoped tokens, and the same on NATS. */
describe('server API across two replicas (REST and NATS)', () => {
  let nats: NatsServerHandle;
  let replicas: Replicas<TestApp, 2>;
  let one: TestApp;
  let two: TestApp;
  let raw: NatsConnection;
  const clients: WsTestClient[] = [];

  const open = async (app: TestApp, user: string) => {
    const client = await WsTestClient.open(app.wsUrl, { token: tokenFor(user) });
    clients.push(client);
    return client;
  };
  /** A plain NATS request: the answer's `response`, or its `err`. */
  const ask = async (subject: string, body: unknown) => {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    const answer = await raw.request(subject, encoder.encode(data), { timeout: 5000 });
    return JSON.parse(decoder.decode(answer.data)) as { response?: unknown; err?: unknown };
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startReplicas(2, (i) =>
      startReplica({
        NATS_URL: nats.url,
        REPLICA_ID: `api-${i + 1}`,
        PRESENCE_HEARTBEAT_MS: '200',
      }),
    );
    [one, two] = replicas.apps;
    raw = await connect({ servers: nats.url });
    // A disconnect counts the replicas presence knows of: wait until each knows the other.
    for (const app of [one, two]) {
      await waitFor('both replicas to know each other', async () => {
        return (await app.app.get(ClusterMembership).members()).length === 2;
      });
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await raw?.close();
    await replicas?.closeAll();
    await nats?.stop();
  });

  it('POST /rooms/:room/messages: 202, members on every replica get it from the token’s sub, once per key', async () => {
    const member = await open(two, 'mia');
    await member.call('chat.join', { room: 'ops' });
    const post = (body: unknown, key?: string) => {
      const req = request(one.url)
        .post('/rooms/ops/messages')
        .set('authorization', bearer('chat:publish'));
      return (key ? req.set('idempotency-key', key) : req).send(body as object);
    };

    const first = await post({ body: { text: 'deployed' } }, 'deploy-812');
    expect(first.status).toBe(202);
    const again = await post({ body: { text: 'deployed' } }, 'deploy-812');
    expect(again.body).toEqual(first.body);
    const seen = await member.nextEvent<ChatMessage>('chat.message');
    expect(seen.data).toMatchObject({
      room: 'ops',
      from: 'deploy-bot',
      body: { text: 'deployed' },
      ...(first.body as Published),
    });

    expect((await post({ body: ['no'] })).status).toBe(400);
    expect((await post({ body: 'x', extra: 1 })).status).toBe(400);
    expect((await post({ body: 'x' }, 'has space')).status).toBe(400);
    const badRoom = await request(one.url)
      .post('/rooms/bad room/messages')
      .set('authorization', bearer('chat:publish'))
      .send({ body: 'x' });
    expect(badRoom.status).toBe(400);
    const noScope = await request(one.url)
      .post('/rooms/ops/messages')
      .set('authorization', bearer('history:read'))
      .send({ body: 'x' });
    expect(noScope.status).toBe(403);
    expect((await request(one.url).post('/rooms/ops/messages').send({ body: 'x' })).status).toBe(
      401,
    );
    // Only the one accepted message reached the member (the repeat and the refusals did not).
    const marker = await member.call<Published>('chat.send', { room: 'ops', body: 'marker' });
    const next = await member.nextEvent<ChatMessage>('chat.message');
    expect(next.data.id).toBe(marker.id);
  });

  it('GET /rooms/:room/messages: pages like chat.history, limit 1-300, history:read only', async () => {
    const sender = await open(one, 'sam');
    await sender.call('chat.join', { room: 'archive' });
    const sent: Published[] = [];
    for (let i = 1; i <= 3; i++) {
      sent.push(await sender.call<Published>('chat.send', { room: 'archive', body: `m${i}` }));
    }
    const get = (query: string, scope = 'history:read') =>
      request(two.url).get(`/rooms/archive/messages${query}`).set('authorization', bearer(scope));

    const page = await get('?limit=2');
    expect(page.status).toBe(200);
    const reply = page.body as ChatHistoryReply;
    expect(reply.messages.map((m) => m.body)).toEqual(['m2', 'm3']);
    expect(reply.hasMore).toBe(true);
    const older = (await get(`?limit=300&before=${sent[1]!.seq}`)).body as ChatHistoryReply;
    expect(older).toMatchObject({ room: 'archive', hasMore: false, epoch: reply.epoch });
    expect(older.messages.map((m) => m.seq)).toEqual([sent[0]!.seq]);

    for (const bad of ['?limit=301', '?limit=0', '?before=0', '?before=x', '?other=1']) {
      expect((await get(bad)).status).toBe(400);
    }
    expect((await get('', 'chat:publish')).status).toBe(403);
    expect((await request(two.url).get('/rooms/archive/messages')).status).toBe(401);
  });

  it('POST /users/:userId/disconnect closes every connection of the user on both replicas with 4003', async () => {
    const eve = [await open(one, 'eve'), await open(one, 'eve'), await open(two, 'eve')];
    const bystander = await open(two, 'frank');
    const disconnect = (scope: string, body: object) =>
      request(one.url).post('/users/eve/disconnect').set('authorization', bearer(scope)).send(body);

    expect((await disconnect('chat:publish', {})).status).toBe(403);
    expect((await request(one.url).post('/users/eve/disconnect').send({})).status).toBe(401);
    expect((await disconnect('connections:manage', { reason: 'x'.repeat(101) })).status).toBe(400);
    expect(eve.every((c) => c.socket.readyState === c.socket.OPEN)).toBe(true);

    const answer = await disconnect('connections:manage', { reason: 'account suspended' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ closed: 3 });
    for (const client of eve) {
      expect(await client.closed).toEqual({ code: 4003, reason: 'account suspended' });
    }
    // The bystander on the same replica keeps its session and is answered.
    expect(await bystander.call('ping')).toMatchObject({ ts: expect.any(Number) as number });
    expect(bystander.socket.readyState).toBe(bystander.socket.OPEN);
  });

  it('answers rooms.publish, rooms.history and users.disconnect on NATS, validated the same', async () => {
    const watcher = await open(one, 'wes');
    await watcher.call('chat.join', { room: 'nats-room' });
    const published = await ask('rooms.publish', {
      room: 'nats-room',
      body: 'over nats',
      from: 'billing',
    });
    const stored = published.response as Published;
    expect(stored).toEqual({ id: expect.any(String) as string, seq: expect.any(Number) as number });
    const seen = await watcher.nextEvent<ChatMessage>('chat.message');
    expect(seen.data).toMatchObject({ from: 'billing', body: 'over nats', id: stored.id });

    const history = (await ask('rooms.history', { room: 'nats-room', limit: 10 }))
      .response as ChatHistoryReply;
    expect(history.messages.map((m) => m.id)).toEqual([stored.id]);

    const victim = await open(two, 'vic');
    const closed = await ask('users.disconnect', { userId: 'vic', reason: 'logged out' });
    expect(closed.response).toEqual({ closed: 1 });
    expect(await victim.closed).toEqual({ code: 4003, reason: 'logged out' });

    for (const [subject, body] of [
      ['rooms.publish', { room: 'nats-room', body: 'x' }],
      ['rooms.publish', { room: 'bad room', body: 'x', from: 'billing' }],
      ['rooms.history', { room: 'nats-room', limit: 301 }],
      ['users.disconnect', { reason: 'no user' }],
      ['users.disconnect', '{not json'],
    ] as const) {
      expect((await ask(subject, body)).err).toMatchObject({ code: 'bad_request' });
    }
  });

  it('the SDK pages history, and stops for good on a disconnect (4003) with the reason', async () => {
    const sdk = connectSdk({
      url: two.wsUrl,
      // With getToken, only a deliberate end (4003) stops the SDK: a 4001 would reconnect.
      getToken: () => tokenFor('sid'),
      WebSocket,
    });
    try {
      await sdk.join('sdk-room');
      const sent = [await sdk.send('sdk-room', 'one'), await sdk.send('sdk-room', 'two')];
      const page = await sdk.history({ room: 'sdk-room', limit: 1 });
      expect(page.messages.map((m) => m.id)).toEqual([sent[1]!.id]);
      expect(page.hasMore).toBe(true);
      const older = await sdk.history({ room: 'sdk-room', before: page.messages[0]!.seq });
      expect(older).toMatchObject({ hasMore: false, messages: [{ id: sent[0]!.id, body: 'one' }] });

      const stopped = new Promise<ClientError>((resolve) => sdk.on('error', resolve));
      const answer = await request(one.url)
        .post('/users/sid/disconnect')
        .set('authorization', bearer('connections:manage'))
        .send({ reason: 'banned' });
      expect(answer.body).toEqual({ closed: 1 });
      expect(await stopped).toMatchObject({ code: 'disconnected', closeCode: 4003 });
      expect((await stopped).message).toContain('banned');
      expect(sdk.state).toBe('closed');
    } finally {
      await sdk.close();
    }
  });
});
