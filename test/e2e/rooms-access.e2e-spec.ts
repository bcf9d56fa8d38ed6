import {
  startNatsServer,
  startReplicas,
  WsTestClient,
  type NatsServerHandle,
  type Replicas,
  type TestApp,
} from '@app/testing';
import type { ChatHistoryReply, ChatMessage, Published } from '@app/protocol';
import request from 'supertest';
import { DocumentsModule } from '../fixtures/documents/documents.module';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/** Room authorization (ROOMS_OPEN, the rooms claim, the fixture's RoomPolicy) and history paging. */
describe('rooms: who may join, and history paging, across two replicas', () => {
  let nats: NatsServerHandle;
  let replicas: Replicas<TestApp, 2>;
  let one: TestApp;
  let two: TestApp;
  const clients: WsTestClient[] = [];

  const open = async (app: TestApp, user: string, rooms?: string[]) => {
    const client = await WsTestClient.open(app.wsUrl, { token: tokenFor(user, { rooms }) });
    clients.push(client);
    return client;
  };
  const codeOf = async (client: WsTestClient, event: string, data: Record<string, unknown>) => {
    const answer = await client.request(event, data);
    return answer.event === 'error' ? (answer.data.code as string) : 'ok';
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startReplicas(2, (i) =>
      startReplica(
        { NATS_URL: nats.url, REPLICA_ID: `rooms-${i + 1}`, ROOMS_OPEN: 'lobby,public:*' },
        [DocumentsModule],
      ),
    );
    [one, two] = replicas.apps;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await replicas?.closeAll();
    await nats?.stop();
  });

  it('allows by ROOMS_OPEN, then the rooms claim, then the RoomPolicy; refuses the rest', async () => {
    const mallory = await open(one, 'mallory');
    const member = await open(one, 'tess', ['team:42', 'project:*']);
    const ada = await open(two, 'ada');

    expect(await codeOf(mallory, 'chat.join', { room: 'lobby' })).toBe('ok');
    expect(await codeOf(mallory, 'chat.join', { room: 'public:news' })).toBe('ok');
    expect(await codeOf(mallory, 'chat.join', { room: 'lobby2' })).toBe('forbidden');
    expect(await codeOf(mallory, 'chat.join', { room: 'team:42' })).toBe('forbidden');
    expect(await codeOf(mallory, 'chat.join', { room: 'doc:spec.md' })).toBe('forbidden');

    expect(await codeOf(member, 'chat.join', { room: 'team:42' })).toBe('ok');
    expect(await codeOf(member, 'chat.join', { room: 'project:apollo' })).toBe('ok');
    expect(await codeOf(member, 'chat.join', { room: 'team:43' })).toBe('forbidden');

    // The fixture's async policy: ada collaborates on spec.md, not on other.md.
    expect(await codeOf(ada, 'chat.join', { room: 'doc:spec.md' })).toBe('ok');
    expect(await codeOf(ada, 'chat.join', { room: 'doc:other.md' })).toBe('forbidden');

    // A refused join leaves no membership behind: a send there is refused too.
    expect(await codeOf(mallory, 'chat.send', { room: 'team:42', body: 'hi' })).toBe('forbidden');
  });

  it('lets a send right behind a join wait for the async policy instead of refusing it', async () => {
    const grace = await open(one, 'grace');
    grace.send('chat.join', { room: 'doc:spec.md' });
    const sent = await grace.call<Published>('chat.send', { room: 'doc:spec.md', body: 'eager' });
    const own = await grace.nextEvent<ChatMessage>('chat.message');
    expect(own.data.id).toBe(sent.id);
  });

  it('leaves a room at once when a refreshed token no longer covers it (chat.removed)', async () => {
    const bob = await open(one, 'bob', ['team:7']);
    const peer = await open(two, 'pat', ['team:7']);
    for (const room of ['team:7', 'lobby']) await bob.call('chat.join', { room });
    await peer.call('chat.join', { room: 'team:7' });

    const refreshed = await bob.request('auth.refresh', { token: tokenFor('bob') });
    expect(refreshed.event).toBe('reply');
    // Sent before the refresh's reply: the client knows before it acts on the new token.
    const removed = bob.unread.find((f) => f.event === 'chat.removed');
    expect(removed?.data).toEqual({ room: 'team:7', reason: 'permission_revoked' });

    expect(await codeOf(bob, 'chat.send', { room: 'team:7', body: 'still here?' })).toBe(
      'forbidden',
    );
    expect(await codeOf(bob, 'chat.join', { room: 'team:7' })).toBe('forbidden');
    // The room bob may still join is kept, and the team's messages no longer reach him.
    const sent = await peer.call<Published>('chat.send', { room: 'team:7', body: 'secret' });
    const marker = await bob.call<Published>('chat.send', { room: 'lobby', body: 'marker' });
    await bob.next((f) => f.event === 'chat.message' && f.data.id === marker.id, 'marker');
    expect(bob.unread.filter((f) => f.data.id === sent.id)).toEqual([]);
  });

  it('answers presence of a room only to who may join it (WS and REST)', async () => {
    const mallory = await open(two, 'mallory2');
    expect(await codeOf(mallory, 'presence.query', { room: 'team:42' })).toBe('forbidden');
    expect(await codeOf(mallory, 'presence.query', { room: 'lobby' })).toBe('ok');

    const http = request(one.url);
    const get = (token: string) =>
      http.get('/presence/rooms/team:42').set('authorization', `Bearer ${token}`);
    expect((await get(tokenFor('mallory2'))).status).toBe(403);
    expect((await get(tokenFor('tess', { rooms: ['team:*'] }))).status).toBe(200);
    expect((await get(tokenFor('ops', { scope: 'presence:read' }))).status).toBe(200);
    expect((await http.get('/presence/rooms/team:42')).status).toBe(401);
  });

  it('pages a room’s history backwards, newest last, for members only', async () => {
    const carol = await open(one, 'carol');
    const dave = await open(two, 'dave');
    const room = 'public:paging';
    await carol.call('chat.join', { room });
    const sent: Published[] = [];
    for (let i = 1; i <= 5; i++) {
      sent.push(await carol.call<Published>('chat.send', { room, body: { n: i } }));
    }
    expect(await codeOf(dave, 'chat.history', { room })).toBe('forbidden');
    await dave.call('chat.join', { room });

    const newest = await dave.call<ChatHistoryReply>('chat.history', { room, limit: 2 });
    expect(newest.messages.map((m) => m.id)).toEqual(sent.slice(3).map((s) => s.id));
    expect(newest.hasMore).toBe(true);
    expect(newest.messages[1]).toEqual<ChatMessage>({
      room,
      id: sent[4]!.id,
      seq: sent[4]!.seq,
      from: 'carol',
      body: { n: 5 },
      ts: expect.any(Number) as number,
    });
    const pages = [newest];
    while (pages.at(-1)!.hasMore) {
      const before = pages.at(-1)!.messages[0]!.seq;
      pages.push(await dave.call<ChatHistoryReply>('chat.history', { room, before, limit: 2 }));
    }
    const all = pages.reverse().flatMap((p) => p.messages.map((m) => m.seq));
    expect(all).toEqual(sent.map((s) => s.seq));
    expect(pages[0]!.epoch).toBe(newest.epoch);

    for (const bad of [{ limit: 0 }, { limit: 101 }, { before: 0 }, { before: 'x' }]) {
      expect(await codeOf(dave, 'chat.history', { room, ...bad })).toBe('bad_request');
    }
  });
});
