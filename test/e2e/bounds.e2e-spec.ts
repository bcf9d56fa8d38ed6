import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import {
  startNatsServer,
  startReplicas,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type Replicas,
  type TestApp,
} from '@app/testing';
import { connect, type NatsConnection } from 'nats';
import { firstValueFrom } from 'rxjs';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/** Keys that are object property names: they must travel and count like any other. */
const TRICKY_TEXT =
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"toString":"s","hasOwnProperty":[{"__proto__":2}]}';
const TRICKY_IDS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
const reader = tokenFor('ops', { scope: 'presence:read' });
const publisher = tokenFor('orders-service', { scope: 'notifications:publish' });

/** Findings 5 and 6 of issue 10, across two replicas: opaque bodies, odd user ids, the limits. */
describe('bounds: opaque bodies, odd user ids and per-connection limits', () => {
  let nats: NatsServerHandle;
  let replicas: Replicas<TestApp, 2>;
  let a: TestApp;
  let b: TestApp;
  let raw: NatsConnection;
  let proxy: ClientProxy;
  const clients: WsTestClient[] = [];

  const open = async (app: TestApp, user?: string) => {
    const client = await WsTestClient.open(app.wsUrl, user ? { token: tokenFor(user) } : {});
    clients.push(client);
    return client;
  };
  const userPresence = (app: TestApp, userId: string) =>
    fetch(`${app.url}/presence/users/${encodeURIComponent(userId)}`, {
      headers: { authorization: `Bearer ${reader}` },
    }).then((r) => r.json() as Promise<{ userId: string; online: boolean; connections: number }>);
  /** Serialized as received: an own `__proto__` key survives JSON.stringify, not a comparison. */
  const text = (value: unknown) => JSON.stringify(value);

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startReplicas(2, (i) =>
      startReplica({
        NATS_URL: nats.url,
        REPLICA_ID: `bounds-${i}`,
        WS_MAX_ROOMS: '3',
        WS_MAX_STREAMS: '3',
        WS_MAX_INFLIGHT: '2',
        MAX_CONNECTIONS_PER_USER: '2',
      }),
    );
    [a, b] = replicas.apps;
    raw = await connect({ servers: nats.url });
    proxy = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: [nats.url] },
    });
    await proxy.connect();
    // Each replica counts the other's connections once it has heard its heartbeat.
    const probe = await open(b, 'probe');
    await waitFor(
      'replica a to see b’s users',
      async () => (await userPresence(a, 'probe')).online,
    );
    await probe.close();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy?.close();
    await raw?.close();
    await replicas?.closeAll();
    await nats?.stop();
  });

  describe('bodies and payloads are delivered exactly as sent', () => {
    it('chat.send and chat.direct, across replicas', async () => {
      const sender = await open(a, 'sender');
      const member = await open(b, 'member');
      await sender.call('chat.join', { room: 'odd' });
      await member.call('chat.join', { room: 'odd' });
      sender.sendRaw(`{"event":"chat.send","data":{"ref":1,"room":"odd","body":${TRICKY_TEXT}}}`);
      expect((await sender.next((f) => f.data.ref === 1)).event).toBe('reply');
      const message = await member.nextEvent<{ body: unknown }>('chat.message');
      expect(text(message.data.body)).toBe(TRICKY_TEXT);

      sender.sendRaw(
        `{"event":"chat.direct","data":{"ref":2,"to":"member","body":${TRICKY_TEXT}}}`,
      );
      expect((await sender.next((f) => f.data.ref === 2)).event).toBe('reply');
      const direct = await member.nextEvent<{ body: unknown }>('chat.direct');
      expect(text(direct.data.body)).toBe(TRICKY_TEXT);
    });

    it('notifications pushed over REST and NATS (request and event)', async () => {
      const subscriber = await open(b);
      await subscriber.call('notifications.subscribe', { streams: ['public.odd'] });
      const body = `{"stream":"public.odd","payload":${TRICKY_TEXT}}`;
      const pushed = await fetch(`${a.url}/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
        body,
      });
      expect(pushed.status).toBe(202);
      const reply = await raw.request('notifications.publish', new TextEncoder().encode(body), {
        timeout: 5000,
      });
      expect(JSON.parse(new TextDecoder().decode(reply.data))).toHaveProperty('response.seq');
      await firstValueFrom(proxy.emit('notifications.push', JSON.parse(body) as object));
      for (let i = 0; i < 3; i++) {
        const { data } = await subscriber.nextEvent<{ payload: unknown }>('notification');
        expect(text(data.payload)).toBe(TRICKY_TEXT);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('counts user ids such as __proto__ and constructor like any other', async () => {
    // Two connections each, on one replica or split over both; one of each joins a room.
    for (const id of TRICKY_IDS) {
      const first = await open(a, id);
      await open(id === '__proto__' ? a : b, id);
      await first.call('chat.join', { room: 'odd-room' });
    }
    for (const id of TRICKY_IDS) {
      expect(await userPresence(a, id)).toEqual({ userId: id, online: true, connections: 2 });
    }
    expect(await userPresence(a, 'nobody')).toEqual({
      userId: 'nobody',
      online: false,
      connections: 0,
    });
    const asker = await open(b, 'asker');
    const answer = await asker.call<{ online: Record<string, boolean> }>('presence.query', {
      users: [...TRICKY_IDS, 'nobody'],
    });
    expect(Object.entries(answer.online).sort()).toEqual(
      [...TRICKY_IDS.map((id) => [id, true]), ['nobody', false]].sort(),
    );
    const room = await asker.call<{ users: string[] }>('presence.query', { room: 'odd-room' });
    expect(room.users).toEqual([...TRICKY_IDS].sort());
  });

  describe('limits answer limit_exceeded, naming the limit and its value', () => {
    it('WS_MAX_ROOMS: one more room than the limit', async () => {
      const client = await open(a, 'joiner');
      for (const room of ['r1', 'r2', 'r3']) await client.call('chat.join', { room });
      const refused = await client.request('chat.join', { room: 'r4' });
      expect(refused.data).toMatchObject({
        code: 'limit_exceeded',
        message: 'too many rooms joined: WS_MAX_ROOMS is 3',
      });
      // A room already joined may be joined again; a room left frees its place.
      await client.call('chat.join', { room: 'r1' });
      await client.call('chat.leave', { room: 'r1' });
      await client.call('chat.join', { room: 'r4' });
    });

    it('WS_MAX_STREAMS: none of the refused request’s streams is added', async () => {
      const client = await open(b);
      await client.call('notifications.subscribe', { streams: ['public.s1', 'public.s2'] });
      const refused = await client.request('notifications.subscribe', {
        streams: ['public.s3', 'public.s4'],
      });
      expect(refused.data).toMatchObject({
        code: 'limit_exceeded',
        message: 'too many notification streams: WS_MAX_STREAMS is 3',
      });
      const left = await client.call<{ streams: string[] }>('notifications.unsubscribe', {
        streams: ['public.s3', 'public.s4'],
      });
      expect(left.streams).toEqual([]);
      await client.call('notifications.subscribe', { streams: ['public.s3', 'public.s1'] });
    });

    it('MAX_CONNECTIONS_PER_USER: across the cluster, closed with 1008', async () => {
      const onA = [await open(a, 'many'), await open(a, 'many')];
      // A third on the same replica: refused before its welcome.
      await expect(open(a, 'many')).rejects.toThrow('closed before welcome: 1008 connection limit');
      // A third on the other replica: once the cluster count is in, the user is back to the limit.
      // Arrivals checked at the same time on both replicas may close an earlier one instead, or
      // both: never more than the limit stays open.
      const onB = await WsTestClient.connect(b.wsUrl, { token: tokenFor('many') });
      clients.push(onB);
      const all = [...onA, onB];
      const open3 = () => all.filter((c) => c.socket.readyState === c.socket.OPEN);
      const first = await Promise.race(all.map((c) => c.closed));
      expect(first).toEqual({ code: 1008, reason: 'connection limit' });
      await waitFor(
        'the refused connections to leave the count',
        async () => (await userPresence(b, 'many')).connections === open3().length,
      );
      expect(open3().length).toBeGreaterThanOrEqual(1);
      expect(open3().length).toBeLessThanOrEqual(2);
      for (const client of open3()) expect(await client.call('ping')).toHaveProperty('ts');
      for (const client of all.filter((c) => !open3().includes(c))) {
        expect(await client.closed).toEqual({ code: 1008, reason: 'connection limit' });
      }
    });

    it('counts every refusal by limit in the metrics', async () => {
      const scrape = async (app: TestApp) => (await fetch(`${app.url}/metrics`)).text();
      const [metricsA, metricsB] = await Promise.all([scrape(a), scrape(b)]);
      expect(metricsA).toMatch(/realtime_limit_refusals_total\{limit="WS_MAX_ROOMS"\} 1\b/);
      expect(metricsB).toMatch(/realtime_limit_refusals_total\{limit="WS_MAX_STREAMS"\} 1\b/);
      // At least the connection refused before its welcome on a.
      expect(metricsA).toMatch(
        /realtime_limit_refusals_total\{limit="MAX_CONNECTIONS_PER_USER"\} [1-9]/,
      );
    });

    it('WS_MAX_INFLIGHT: a request while that many are unanswered', async () => {
      // A replica that never answers makes presence look-ups wait for it (a heartbeat long).
      raw.publish(
        'presence.heartbeat',
        new TextEncoder().encode('{"t":"hb","i":"silent-replica","r":"silent","n":0}'),
      );
      await raw.flush();
      const client = await open(a, 'busy');
      await waitFor('a look-up to wait for the silent replica', async () => {
        const started = Date.now();
        await client.call('presence.query', { users: ['x'] });
        return Date.now() - started >= 1000;
      });
      const pending = [
        client.request('presence.query', { users: ['x'] }),
        client.request('presence.query', { users: ['y'] }),
      ];
      const refused = await client.request('ping');
      expect(refused.data).toMatchObject({
        code: 'limit_exceeded',
        message: 'too many requests unanswered on this connection: WS_MAX_INFLIGHT is 2',
      });
      for (const answer of await Promise.all(pending)) expect(answer.event).toBe('reply');
      expect(await client.call('ping')).toHaveProperty('ts');
    });
  });
});
