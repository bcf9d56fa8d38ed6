import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { HISTORY_OPTIONS, HistoryStore, InMemoryHistory, type HistoryOptions } from '@app/history';
import { Relay } from '@app/relay';
import {
  startNatsServer,
  startReplicas,
  startTestApp,
  WsTestClient,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import { AppError } from '@app/core';
import { connect, type NatsConnection } from 'nats';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { AppConfig, loadConfig } from '../../src/config';
import { configureApp } from '../../src/configure-app';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

interface Notification {
  stream: string;
  id: string;
  seq: number;
  payload: unknown;
  ts: number;
}

const publisher = tokenFor('orders-service', { scope: 'notifications:publish' });

describe('notifications across three replicas', () => {
  let nats: NatsServerHandle;
  let replicas: TestApp[];
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  let proxy: ClientProxy;
  let raw: NatsConnection;
  const clients: WsTestClient[] = [];

  const open = async (app: TestApp, user?: string) => {
    const client = await WsTestClient.open(app.wsUrl, user ? { token: tokenFor(user) } : {});
    clients.push(client);
    return client;
  };
  const push = (app: TestApp, body: object, token = publisher) =>
    request(app.app.getHttpServer())
      .post('/notifications')
      .set('authorization', `Bearer ${token}`)
      .send(body);

  beforeAll(async () => {
    nats = await startNatsServer();
    const started = await startReplicas(3, (i) =>
      startReplica({ NATS_URL: nats.url, REPLICA_ID: `n${i}`, HTTP_MAX_BODY_BYTES: '4096' }),
    );
    replicas = [...started.apps];
    [a, b, c] = replicas as [TestApp, TestApp, TestApp];
    proxy = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: [nats.url] },
    });
    await proxy.connect();
    raw = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await Promise.all(clients.map((cl) => cl.close()));
    await proxy?.close();
    await raw?.close();
    await Promise.all(replicas.map((r) => r.close()));
    await nats?.stop();
  });

  it('delivers a public push on one replica to anonymous and signed-in subscribers on every replica', async () => {
    const subscribers = [await open(a), await open(b, 'u1'), await open(c), await open(c, 'u2')];
    for (const s of subscribers)
      await s.call('notifications.subscribe', { streams: ['public.news'] });
    const res = await push(a, { stream: 'public.news', payload: { title: 'hello' } }).expect(202);
    expect(res.body).toEqual({
      id: expect.any(String) as string,
      seq: expect.any(Number) as number,
    });
    for (const s of subscribers) {
      const { data } = await s.nextEvent<Notification>('notification');
      expect(data).toMatchObject({
        stream: 'public.news',
        id: res.body.id,
        seq: res.body.seq,
        payload: { title: 'hello' },
      });
    }
  });

  it('delivers a private push to every connection of that user and to no one else', async () => {
    const mine = [await open(a, 'pat'), await open(b, 'pat'), await open(b, 'pat')];
    const other = await open(c, 'quinn');
    for (const s of [...mine, other])
      await s.call('notifications.subscribe', { streams: ['private.orders'] });
    const res = await push(b, {
      stream: 'private.orders',
      userId: 'pat',
      payload: 'shipped',
    }).expect(202);
    for (const s of mine) {
      const { data } = await s.nextEvent<Notification>('notification');
      expect(data).toMatchObject({
        stream: 'private.orders',
        seq: res.body.seq,
        payload: 'shipped',
      });
    }
    // quinn's own notification is the marker: pat's would have arrived before it.
    const marker = await push(a, {
      stream: 'private.orders',
      userId: 'quinn',
      payload: 'marker',
    }).expect(202);
    const { data } = await other.nextEvent<Notification>('notification');
    expect(data.seq).toBe(marker.body.seq);
  });

  it('refuses private streams to anonymous connections', async () => {
    const anon = await open(a);
    const answer = await anon.request('notifications.subscribe', { streams: ['private.orders'] });
    expect(answer).toMatchObject({ event: 'error', data: { code: 'unauthorized' } });
  });

  it('resumes streams with since and gets exactly what was missed', async () => {
    const first = await open(a, 'rita');
    const sub = await first.call<{
      epoch: string;
      seqs: Record<string, number>;
      recovered: boolean;
    }>('notifications.subscribe', {
      streams: ['public.resume', 'private.bills'],
    });
    expect(sub.recovered).toBe(true);
    // A client resumes from the last seq it received of each stream.
    const seen = {
      'public.resume': (await push(a, { stream: 'public.resume', payload: 0 }).expect(202)).body
        .seq,
      'private.bills': (
        await push(a, { stream: 'private.bills', userId: 'rita', payload: 0 }).expect(202)
      ).body.seq,
    };
    await first.take<Notification>('notification', 2);
    await first.close();
    const missedPublic = await push(b, { stream: 'public.resume', payload: 1 }).expect(202);
    const missedPrivate = await push(c, {
      stream: 'private.bills',
      userId: 'rita',
      payload: 2,
    }).expect(202);

    const back = await open(c, 'rita');
    const resumed = await back.call<{
      recovered: boolean;
      recoveredStreams: Record<string, boolean>;
      seqs: Record<string, number>;
    }>('notifications.subscribe', {
      streams: ['public.resume', 'private.bills'],
      since: seen,
      epoch: sub.epoch,
    });
    expect(resumed.recovered).toBe(true);
    expect(resumed.recoveredStreams).toEqual({ 'public.resume': true, 'private.bills': true });
    const got = await back.take<Notification>('notification', 2);
    expect(got.map((n) => [n.stream, n.seq]).sort()).toEqual(
      [
        ['private.bills', missedPrivate.body.seq],
        ['public.resume', missedPublic.body.seq],
      ].sort(),
    );
    expect(resumed.seqs).toEqual({
      'public.resume': missedPublic.body.seq,
      'private.bills': missedPrivate.body.seq,
    });
  });

  it('handles ClientProxy.emit on exactly one replica: one delivery per subscribed connection', async () => {
    const subs = [await open(a), await open(b), await open(c)];
    for (const s of subs) await s.call('notifications.subscribe', { streams: ['public.emitted'] });
    await firstValueFrom(
      proxy.emit('notifications.push', { stream: 'public.emitted', payload: 'once' }),
    );
    await firstValueFrom(
      proxy.emit('notifications.push', { stream: 'public.emitted', payload: 'marker' }),
    );
    for (const s of subs) {
      // Two emits may be handled by two queue members: their order is not defined.
      const got = await s.take<Notification>('notification', 2);
      expect(got.map((n) => n.payload).sort()).toEqual(['marker', 'once']);
    }
    // A duplicate (a push handled by several replicas) would be stored before this last marker.
    await push(a, { stream: 'public.emitted', payload: 'end' }).expect(202);
    for (const s of subs) {
      expect((await s.nextEvent<Notification>('notification')).data.payload).toBe('end');
    }
  });

  it('answers the notifications.publish request with {id, seq}, or with an error', async () => {
    const ok = await firstValueFrom(
      proxy.send<{ id: string; seq: number }>('notifications.publish', {
        stream: 'public.rr',
        payload: 1,
      }),
    );
    expect(ok).toEqual({ id: expect.any(String) as string, seq: expect.any(Number) as number });
    await expect(
      firstValueFrom(proxy.send('notifications.publish', { stream: 'nope', payload: 1 })),
    ).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('answers a plain NATS request (no Nest packet id) on notifications.publish', async () => {
    const body = JSON.stringify({ stream: 'public.plain', payload: 'raw' });
    const answer = await raw.request('notifications.publish', new TextEncoder().encode(body), {
      timeout: 5000,
    });
    const packet = JSON.parse(new TextDecoder().decode(answer.data)) as {
      response?: { id: string; seq: number };
    };
    expect(packet.response).toEqual({
      id: expect.any(String) as string,
      seq: expect.any(Number) as number,
    });
    const refused = await raw.request('notifications.publish', new TextEncoder().encode('{nope'), {
      timeout: 5000,
    });
    expect(JSON.parse(new TextDecoder().decode(refused.data))).toMatchObject({
      err: { code: 'bad_request', message: 'the message is not valid JSON' },
    });
  });

  it('survives garbage and invalid events on the NATS subjects', async () => {
    raw.publish('notifications.push', new TextEncoder().encode('{not json'));
    raw.publish(
      'notifications.push',
      new TextEncoder().encode(JSON.stringify({ stream: 'public.x' })),
    );
    raw.publish('notifications.push', new TextEncoder().encode('[1,2]'));
    const s = await open(b);
    await s.call('notifications.subscribe', { streams: ['public.after-garbage'] });
    await firstValueFrom(
      proxy.emit('notifications.push', { stream: 'public.after-garbage', payload: 'still here' }),
    );
    expect((await s.nextEvent<Notification>('notification')).data.payload).toBe('still here');
    for (const r of replicas) await request(r.app.getHttpServer()).get('/health/live').expect(200);
  });

  it('answers 400 naming the fields, 401, 403 and 413', async () => {
    const bad = await push(a, { stream: 'private.x', payload: undefined, extra: 1 }).expect(400);
    expect(bad.body.code).toBe('bad_request');
    expect((bad.body.fields as Array<{ field: string }>).map((f) => f.field).sort()).toEqual([
      'extra',
      'payload',
      'userId',
    ]);
    const publicWithUser = await push(a, { stream: 'public.x', userId: 'u', payload: 1 }).expect(
      400,
    );
    expect(publicWithUser.body.fields[0].field).toBe('userId');

    await request(a.app.getHttpServer())
      .post('/notifications')
      .send({ stream: 'public.x', payload: 1 })
      .expect(401);
    await push(a, { stream: 'public.x', payload: 1 }, 'garbage').expect(401);
    const forbidden = await push(a, { stream: 'public.x', payload: 1 }, tokenFor('someone')).expect(
      403,
    );
    expect(forbidden.body.code).toBe('forbidden');
    const tooBig = await push(a, { stream: 'public.x', payload: 'x'.repeat(8000) }).expect(413);
    expect(tooBig.body.code).toBe('bad_request');
  });

  it('returns the first {id, seq} for a repeated Idempotency-Key and delivers once', async () => {
    const s = await open(c);
    await s.call('notifications.subscribe', { streams: ['public.idem'] });
    const send = () =>
      push(a, { stream: 'public.idem', payload: 'pay' })
        .set('idempotency-key', 'order-42-shipped')
        .expect(202);
    const first = await send();
    const again = await push(b, { stream: 'public.idem', payload: 'pay' })
      .set('idempotency-key', 'order-42-shipped')
      .expect(202);
    expect(again.body).toEqual(first.body);
    await push(a, { stream: 'public.idem', payload: 'marker' }).expect(202);
    const got = await s.take<Notification>('notification', 2);
    expect(got.map((n) => n.payload)).toEqual(['pay', 'marker']);
    expect(got[0]!.id).toBe(first.body.id);
    await push(a, { stream: 'public.idem', payload: 1 })
      .set('idempotency-key', 'bad key with spaces')
      .expect(400);
  });

  it('answers 503 (not 202) while the broker is unreachable, and 202 again after', async () => {
    await nats.kill();
    const res = await push(a, { stream: 'public.down', payload: 1 });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('unavailable');
    await nats.restart();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (status !== 202 && Date.now() < deadline)
      status = (await push(a, { stream: 'public.down', payload: 2 })).status;
    expect(status).toBe(202);
  });
});

describe('notifications with the embedded relay', () => {
  it('pushes over REST to a WebSocket subscriber of the same replica', async () => {
    const app = await startReplica();
    const s = await WsTestClient.open(app.wsUrl);
    await s.call('notifications.subscribe', { streams: ['public.solo'] });
    const res = await request(app.app.getHttpServer())
      .post('/notifications')
      .set('authorization', `Bearer ${publisher}`)
      .send({ stream: 'public.solo', payload: { n: 1 } })
      .expect(202);
    expect((await s.nextEvent<Notification>('notification')).data).toMatchObject({
      seq: res.body.seq,
      payload: { n: 1 },
    });
    await s.close();
    await app.close();
  });
});

/** In-memory history that cannot be read for channels named `*broken*`, as a failing store. */
class PartlyBrokenHistory extends InMemoryHistory {
  override head(channel: string) {
    return this.refuse(channel) ?? super.head(channel);
  }
  override replay(channel: string, since: number, epoch?: string) {
    return this.refuse(channel) ?? super.replay(channel, since, epoch);
  }
  private refuse(channel: string): Promise<never> | undefined {
    if (!channel.includes('broken')) return undefined;
    return Promise.reject(new AppError('unavailable', `history of ${channel} is unreadable`));
  }
}

describe('notifications.subscribe is all or nothing', () => {
  let app: TestApp;

  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'error' });
    app = await startTestApp({
      imports: [AppModule],
      configure: configureApp,
      override: (builder) =>
        builder
          .overrideProvider(AppConfig)
          .useValue(config)
          .overrideProvider(HistoryStore)
          .useFactory({
            factory: (relay: Relay, options: HistoryOptions) =>
              new PartlyBrokenHistory(relay, options),
            inject: [Relay, HISTORY_OPTIONS],
          }),
    });
  });

  afterAll(() => app.close());

  const push = (stream: string, payload: unknown) =>
    request(app.app.getHttpServer())
      .post('/notifications')
      .set('authorization', `Bearer ${publisher}`)
      .send({ stream, payload })
      .expect(202);

  it('leaves the connection on none of the new streams when one of them fails', async () => {
    const s = await WsTestClient.open(app.wsUrl);
    await s.call('notifications.subscribe', { streams: ['public.kept'] });
    const failed = await s.request('notifications.subscribe', {
      streams: ['public.kept', 'public.fine', 'public.broken'],
    });
    expect(failed).toMatchObject({ event: 'error', data: { code: 'unavailable' } });

    await push('public.fine', 'must not arrive');
    await push('public.kept', 'still subscribed');
    // Frames arrive in order: had the failed subscribe kept public.fine, its push came first.
    expect((await s.nextEvent<Notification>('notification')).data).toMatchObject({
      stream: 'public.kept',
      payload: 'still subscribed',
    });
    await s.close();
  });
});
