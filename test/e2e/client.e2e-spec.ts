import request from 'supertest';
import { WebSocket } from 'ws';
import {
  ClientError,
  connect,
  type ChatMessage,
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type RealtimeClient,
} from '@app/client';
import { freePort, startNatsServer, type NatsServerHandle, type TestApp } from '@app/testing';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

const TIMEOUT_MS = 10_000;

/** Resolves with the next `event` that matches; fails naming what it waited for. */
function next<K extends keyof ClientEvents>(
  client: RealtimeClient,
  event: K,
  match: (payload: ClientEvents[K]) => boolean = () => true,
  what = `"${event}"`,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`));
    }, TIMEOUT_MS);
    const off = client.on(event, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Resolves once the client is in `state` (at once if it is). */
async function reach(client: RealtimeClient, state: ClientState): Promise<void> {
  if (client.state !== state) await next(client, 'state', (e) => e.state === state, state);
}

/** Every payload of `event` from now on, with a way to await a condition over them. */
function record<K extends keyof ClientEvents>(client: RealtimeClient, event: K) {
  const items: Array<ClientEvents[K]> = [];
  const waiters = new Set<() => void>();
  client.on(event, (payload) => {
    items.push(payload);
    for (const check of waiters) check();
  });
  return {
    items,
    until(done: (items: Array<ClientEvents[K]>) => boolean, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done(items)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; have ${JSON.stringify(items)}`));
        }, TIMEOUT_MS);
        waiters.add(check);
        check();
      });
    },
  };
}

interface Sent {
  event: string;
  data: Record<string, unknown>;
}

/**
 * `ws`'s WebSocket, recording what the client sends. `hold()` makes the next socket pause as soon
 * as it opens: the server's frames (its `welcome` first) wait until `release()`, which keeps the
 * client disconnected in a known state, on a known replica, for as long as a test needs.
 */
class TestWebSocket extends WebSocket {
  static readonly all: TestWebSocket[] = [];
  private static held?: { opened: (socket: TestWebSocket) => void; released: Promise<void> };
  readonly sent: Sent[] = [];

  constructor(url: string) {
    super(url);
    TestWebSocket.all.push(this);
    const send = this.send.bind(this);
    this.send = ((data: string) => {
      this.sent.push(JSON.parse(data) as Sent);
      send(data);
    }) as WebSocket['send'];
    const held = TestWebSocket.held;
    if (held) {
      TestWebSocket.held = undefined;
      this.once('open', () => {
        this.pause();
        held.opened(this);
        void held.released.then(() => this.resume());
      });
    }
  }

  static hold(): { opened: Promise<TestWebSocket>; release: () => void } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const opened = new Promise<TestWebSocket>((resolve) => {
      TestWebSocket.held = { opened: resolve, released };
    });
    return { opened, release };
  }
}

describe('@app/client against real replicas', () => {
  let nats: NatsServerHandle;
  let a: TestApp;
  let b: TestApp;
  const replicas: TestApp[] = [];
  const clients: RealtimeClient[] = [];

  const open = (options: Partial<ClientOptions>): RealtimeClient => {
    const client = connect({ WebSocket: TestWebSocket, ...options });
    clients.push(client);
    return client;
  };
  const replica = async (id: string): Promise<TestApp> => {
    const app = await startReplica({ NATS_URL: nats.url, REPLICA_ID: id });
    replicas.push(app);
    return app;
  };
  const push = (app: TestApp, stream: string, payload: unknown) =>
    request(app.app.getHttpServer())
      .post('/notifications')
      .set('authorization', `Bearer ${tokenFor('sdk-tests', { scope: 'notifications:publish' })}`)
      .send({ stream, payload })
      .expect(202);

  beforeAll(async () => {
    nats = await startNatsServer();
    [a, b] = await Promise.all([replica('a'), replica('b')]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(replicas.map((r) => r.close()));
    await nats?.stop();
  });

  it('joins, sends and receives across two replicas, and carries direct messages', async () => {
    const alice = open({ url: a.wsUrl, token: tokenFor('alice') });
    const bob = open({ url: b.wsUrl, getToken: () => tokenFor('bob') });
    const seenByBob = record(bob, 'message');
    const seenByAlice = record(alice, 'message');
    // Called before the connections are up: the joins wait in the queue.
    await Promise.all([alice.join('sdk-lobby'), bob.join('sdk-lobby')]);
    expect(alice.connection).toMatchObject({ replica: 'a', userId: 'alice' });
    expect(bob.connection).toMatchObject({ replica: 'b', userId: 'bob' });

    const sent = [];
    for (let i = 1; i <= 5; i++) sent.push(await alice.send('sdk-lobby', { n: i }));
    await seenByBob.until((m) => m.length === 5, 'five messages at bob');
    await seenByAlice.until((m) => m.length === 5, 'five messages at alice (the sender)');
    for (const seen of [seenByBob.items, seenByAlice.items]) {
      expect(seen.map((m) => m.id)).toEqual(sent.map((s) => s.id));
      expect(seen.map((m) => m.body)).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
      expect(seen.every((m) => m.from === 'alice' && m.room === 'sdk-lobby')).toBe(true);
    }

    const direct = next(alice, 'direct');
    const dm = await bob.direct('alice', 'psst');
    expect(await direct).toMatchObject({ id: dm.id, from: 'bob', to: 'alice', body: 'psst' });

    const refused = await alice.send('not-joined', 'x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClientError);
    expect(refused).toMatchObject({ code: 'forbidden', event: 'chat.send' });
  });

  it('moves to the other URL when its replica drains, resumes with since and epoch, and gets what it missed once and in order', async () => {
    const c = await replica('c');
    const carol = open({ urls: [c.wsUrl, b.wsUrl], getToken: () => tokenFor('carol') });
    const dave = open({ url: b.wsUrl, token: tokenFor('dave') });
    const messages = record(carol, 'message');
    const notifications = record(carol, 'notification');
    const directs = record(carol, 'direct');
    const notRecovered = record(carol, 'recovered');

    const joined = await carol.join('sdk-failover');
    await carol.subscribe(['public.sdk-news']);
    await dave.join('sdk-failover');
    expect(carol.connection?.replica).toBe('c');
    for (let i = 1; i <= 3; i++) await dave.send('sdk-failover', `before${i}`);
    await push(b, 'public.sdk-news', { n: 'before' });
    await dave.direct('carol', 'dm-before');
    // Stored in carol's inbox too: the resume replays it, and the SDK must not hand it back.
    await carol.direct('dave', 'dm-from-carol');
    await messages.until((m) => m.length === 3, 'the messages sent before the drain');
    await notifications.until((n) => n.length === 1, 'the notification sent before the drain');
    await directs.until((d) => d.length === 1, 'the direct message sent before the drain');
    const lastSeen = messages.items[2]!.seq;

    // The replica drains: carol is closed with 1012 and reconnects at once, to b. The new socket
    // is held open without reading, so what follows happens while carol is disconnected.
    const held = TestWebSocket.hold();
    const disconnected = next(carol, 'disconnect');
    await c.close();
    replicas.splice(replicas.indexOf(c), 1);
    expect(await disconnected).toEqual({
      code: 1012,
      reason: 'draining',
      url: c.wsUrl,
      retryInMs: 0,
    });
    const socket = await held.opened;
    expect(socket.url.startsWith(b.wsUrl)).toBe(true);
    expect(carol.state).toBe('connecting');

    const queued = carol.send('sdk-failover', 'sent-while-away');
    for (let i = 1; i <= 4; i++) await dave.send('sdk-failover', `during${i}`);
    await push(b, 'public.sdk-news', { n: 'during1' });
    await push(a, 'public.sdk-news', { n: 'during2' });
    await dave.direct('carol', 'dm-during');
    expect(messages.items).toHaveLength(3);

    held.release();
    await reach(carol, 'live');
    expect(carol.connection?.replica).toBe('b');
    const rejoin = socket.sent.find((f) => f.event === 'chat.join');
    expect(rejoin?.data).toMatchObject({
      room: 'sdk-failover',
      since: lastSeen,
      epoch: joined.epoch,
    });
    const resubscribe = socket.sent.find((f) => f.event === 'notifications.subscribe');
    expect(resubscribe?.data).toMatchObject({
      streams: ['public.sdk-news'],
      since: { 'public.sdk-news': expect.any(Number) },
      epoch: joined.epoch,
    });
    expect(socket.sent.find((f) => f.event === 'chat.inbox')?.data).toMatchObject({
      since: directs.items[0]!.seq,
    });
    // Queued requests go out only after the resume.
    const order = socket.sent.map((f) => f.event);
    expect(order.indexOf('chat.send')).toBeGreaterThan(order.indexOf('chat.join'));

    expect(await queued).toMatchObject({ id: expect.any(String) });
    await dave.send('sdk-failover', 'after');
    await messages.until((m) => m.some((x) => x.body === 'after'), 'the message sent after');
    await notifications.until((n) => n.length === 3, 'the notifications pushed meanwhile');
    await directs.until((d) => d.length === 2, 'the direct message sent meanwhile');

    const bodies = (list: ChatMessage[]) => list.map((m) => m.body);
    expect(bodies(messages.items)).toEqual([
      'before1',
      'before2',
      'before3',
      'during1',
      'during2',
      'during3',
      'during4',
      'sent-while-away',
      'after',
    ]);
    const ids = messages.items.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    const seqs = messages.items.map((m) => m.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(notifications.items.map((n) => n.payload)).toEqual([
      { n: 'before' },
      { n: 'during1' },
      { n: 'during2' },
    ]);
    expect(directs.items.map((d) => d.body)).toEqual(['dm-before', 'dm-during']);
    expect(notRecovered.items).toEqual([]);
  });

  it('4001 at connect: gets a new token from getToken and connects with it', async () => {
    const tokens = [tokenFor('erin', { expiresIn: -10 }), tokenFor('erin')];
    let calls = 0;
    const erin = open({ url: a.wsUrl, getToken: () => tokens[calls++] ?? tokenFor('erin') });
    const refused = await next(erin, 'disconnect');
    expect(refused).toMatchObject({ code: 4001, reason: 'token expired' });
    await reach(erin, 'live');
    expect(calls).toBe(2);
    await expect(erin.join('sdk-auth')).resolves.toMatchObject({ room: 'sdk-auth' });
  });

  it('4001 on expiry: reconnects with a new token and resumes its rooms', async () => {
    const frank = open({
      url: a.wsUrl,
      token: tokenFor('frank', { expiresIn: 2 }),
      getToken: () => tokenFor('frank'),
      refreshAt: false,
    });
    const joined = await frank.join('sdk-expiry');
    const expired = await next(frank, 'disconnect');
    expect(expired).toMatchObject({ code: 4001, reason: 'token expired' });
    await reach(frank, 'live');
    expect(frank.positions().rooms['sdk-expiry']).toEqual({
      seq: joined.seq,
      epoch: joined.epoch,
    });
    const seen = next(frank, 'message');
    await frank.send('sdk-expiry', 'still here');
    expect(await seen).toMatchObject({ body: 'still here', from: 'frank' });
  });

  it('refreshes the token with auth.refresh before it expires, keeping the connection', async () => {
    const grace = open({
      url: b.wsUrl,
      token: tokenFor('grace', { expiresIn: 3 }),
      getToken: () => tokenFor('grace', { expiresIn: 3600 }),
    });
    await reach(grace, 'live');
    const connectionId = grace.connection?.connectionId;
    const refreshed = await next(grace, 'token');
    expect(refreshed.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3000);
    await expect(grace.join('sdk-refresh')).resolves.toMatchObject({ room: 'sdk-refresh' });
    expect(grace.connection?.connectionId).toBe(connectionId);
  });

  it('refuses requests past the queue bound while disconnected, and rejects the rest on close', async () => {
    const nowhere = `ws://127.0.0.1:${await freePort()}/ws`;
    const henry = open({ url: nowhere, token: tokenFor('henry'), queueSize: 2 });
    const waiting = [henry.send('x', 'one'), henry.join('x')].map((p) =>
      p.catch((e: unknown) => e),
    );
    const refused = await henry.send('x', 'three').catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'ClientError', code: 'queue_full', event: 'chat.send' });
    const failed = await next(henry, 'disconnect');
    expect(failed).toMatchObject({ code: 1006, retryInMs: expect.any(Number) });
    await henry.close();
    expect(await Promise.all(waiting)).toEqual([
      expect.objectContaining({ code: 'closed', event: 'chat.send' }),
      expect.objectContaining({ code: 'closed', event: 'chat.join' }),
    ]);
    expect(henry.state).toBe('closed');
  });
});
