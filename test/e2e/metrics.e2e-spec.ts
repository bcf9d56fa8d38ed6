import {
  startNatsServer,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import request from 'supertest';
import { startReplica } from '../support/replica';
import { parse, Scrape } from '../support/prometheus';
import { tokenFor } from '../support/tokens';

const USERS = ['metrics-alice', 'metrics-bob', 'metrics-carol', 'metrics-slow'];
const ROOM = 'metrics-secret-room';
const STREAM = 'public.metrics-secret-stream';
const publisher = tokenFor('metrics-publisher', { scope: 'notifications:publish' });

describe('GET /metrics', () => {
  let nats: NatsServerHandle;
  let app: TestApp;
  const clients: WsTestClient[] = [];
  const scrapes: Scrape[] = [];

  const scrape = async (): Promise<Scrape> => {
    const response = await fetch(`${app.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const result = new Scrape(text, parse(text));
    scrapes.push(result);
    return result;
  };
  const open = async (user?: string) => {
    const client = await WsTestClient.open(app.wsUrl, user ? { token: tokenFor(user) } : {});
    clients.push(client);
    return client;
  };
  /** Polls until `check` holds, for what only shows after the server reacts on its own. */
  const until = async (what: string, check: (m: Scrape) => boolean): Promise<Scrape> => {
    let last: Scrape | undefined;
    await waitFor(what, async () => check((last = await scrape())));
    return last!;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    app = await startReplica({
      NATS_URL: nats.url,
      REPLICA_ID: 'metrics',
      WS_RATE_PER_SECOND: '50',
      WS_RATE_BURST: '50',
      WS_MAX_BUFFERED_BYTES: String(64 * 1024),
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app?.close();
    await nats?.stop();
  });

  it('serves the Prometheus text format with process metrics and ours', async () => {
    const response = await fetch(`${app.url}/metrics`);
    // Express reorders the parameters; Prometheus reads either order.
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const m = new Scrape('', parse(await response.text()));
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds'])
      expect(m.has(name)).toBe(true);
    expect(m.value('realtime_nats_connection_state', { state: 'connected' })).toBe(1);
    expect(m.value('realtime_nats_connection_state', { state: 'reconnecting' })).toBe(0);
    expect(m.value('realtime_nats_reconnects_total')).toBe(0);
    expect(m.value('realtime_ws_connections')).toBe(0);
    expect(m.value('realtime_ws_slow_consumer_closes_total')).toBe(0);
  });

  it('counts connections by kind, frames in and out by event, deliveries and publishes', async () => {
    const alice = await open(USERS[0]);
    const anonymous = await open();
    const before = await scrape();
    expect(before.value('realtime_ws_connections', { auth: 'authenticated' })).toBe(1);
    expect(before.value('realtime_ws_connections', { auth: 'anonymous' })).toBe(1);
    expect(before.value('realtime_ws_frames_out_total', { event: 'welcome' })).toBe(2);

    await alice.call('chat.join', { room: ROOM });
    for (let i = 0; i < 3; i++) await alice.call('chat.send', { room: ROOM, body: `m${i}` });
    await alice.take('chat.message', 3);
    anonymous.sendRaw('not json');
    await anonymous.nextEvent('error');
    anonymous.send('no.such.event');
    await anonymous.nextEvent('error');

    const after = await scrape();
    const delta = (name: string, labels?: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect(delta('realtime_ws_frames_in_total', { event: 'chat.join' })).toBe(1);
    expect(delta('realtime_ws_frames_in_total', { event: 'chat.send' })).toBe(3);
    expect(delta('realtime_ws_frames_in_total', { event: 'invalid' })).toBe(1);
    expect(delta('realtime_ws_frames_in_total', { event: 'unknown' })).toBe(1);
    expect(delta('realtime_ws_frames_out_total', { event: 'reply' })).toBe(4);
    expect(delta('realtime_ws_frames_out_total', { event: 'error' })).toBe(2);
    expect(delta('realtime_ws_frames_out_total', { event: 'chat.message' })).toBe(3);
    expect(delta('realtime_deliveries_total', { path: 'live' })).toBe(3);
    expect(delta('realtime_relay_publish_duration_seconds_count', { result: 'ok' })).toBe(3);
    expect(delta('realtime_channels')).toBe(1);
    expect(delta('realtime_channel_subscriptions')).toBe(1);

    await anonymous.close();
    const closed = await until(
      'the anonymous connection to close',
      (m) => m.value('realtime_ws_connections', { auth: 'anonymous' }) === 0,
    );
    expect(closed.value('realtime_ws_connections', { auth: 'authenticated' })).toBe(1);
  });

  it('counts history replays, and those that could not recover', async () => {
    const alice = clients[0]!;
    const { epoch } = await alice.call<{ epoch: string }>('chat.join', { room: ROOM });
    const before = await scrape();

    const bob = await open(USERS[1]);
    const resumed = await bob.call<{ recovered: boolean }>('chat.join', {
      room: ROOM,
      since: 0,
      epoch,
    });
    expect(resumed.recovered).toBe(true);
    await bob.take('chat.message', 3);
    const carol = await open(USERS[2]);
    const reset = await carol.call<{ recovered: boolean }>('chat.join', {
      room: ROOM,
      since: 1,
      epoch: 'another-history',
    });
    expect(reset.recovered).toBe(false);

    const after = await scrape();
    const delta = (name: string, labels?: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect(delta('realtime_history_replays_total', { recovered: 'true' })).toBe(1);
    expect(delta('realtime_history_replays_total', { recovered: 'false' })).toBe(1);
    // bob gets the room's 3 messages, and carol, of a "reset" history, all 3 again.
    expect(delta('realtime_deliveries_total', { path: 'replay' })).toBe(6);
    expect(delta('realtime_ws_frames_out_total', { event: 'chat.message' })).toBe(6);
  });

  it('counts rate-limited frames, and the close of an abuser', async () => {
    const before = await scrape();
    const noisy = await open();
    for (let i = 0; i < 60; i++) noisy.send('nope');
    await noisy.next((f) => f.event === 'error' && f.data.code === 'rate_limited', 'rate_limited');
    for (let i = 0; i < 600; i++) noisy.send('nope');
    expect((await noisy.closed).code).toBe(1008);

    const after = await scrape();
    const rejected = ['realtime_ws_rate_limited_total', { action: 'rejected' }] as const;
    expect(after.value(...rejected) - before.value(...rejected)).toBeGreaterThanOrEqual(10);
    const closed = ['realtime_ws_rate_limited_total', { action: 'closed' }] as const;
    expect(after.value(...closed) - before.value(...closed)).toBe(1);
  });

  it('counts a slow consumer closed with 1013', async () => {
    const slow = await open(USERS[3]);
    await slow.call('notifications.subscribe', { streams: [STREAM] });
    slow.socket.pause(); // stops reading: the server's send buffer fills up
    const payload = 'x'.repeat(60 * 1024);
    const server = app.app.getHttpServer() as Parameters<typeof request>[0];
    let m = await scrape();
    for (let i = 0; i < 500 && m.value('realtime_ws_slow_consumer_closes_total') === 0; i++) {
      await request(server)
        .post('/notifications')
        .set('authorization', `Bearer ${publisher}`)
        .send({ stream: STREAM, payload })
        .expect(202);
      if (i % 5 === 4) m = await scrape();
    }
    expect(m.value('realtime_ws_slow_consumer_closes_total')).toBe(1);
    slow.socket.resume();
    expect((await slow.closed).code).toBe(1013);
  });

  it('reports the broker connection state and counts a reconnect', async () => {
    await nats.restart();
    const m = await until(
      'a reconnect',
      (s) =>
        s.value('realtime_nats_reconnects_total') === 1 &&
        s.value('realtime_nats_connection_state', { state: 'connected' }) === 1,
    );
    expect(m.value('realtime_nats_connection_state', { state: 'closed' })).toBe(0);
  });

  it('never puts a user id or a room or stream name in a label', () => {
    const secrets = [...USERS, ROOM, STREAM, 'metrics-publisher', 'metrics-secret'];
    const values = new Set(
      scrapes.flatMap((m) => m.samples.flatMap((s) => Object.values(s.labels))),
    );
    expect(values.size).toBeGreaterThan(0);
    for (const value of values) for (const secret of secrets) expect(value).not.toContain(secret);
    for (const m of scrapes) for (const secret of secrets) expect(m.text).not.toContain(secret);
  });
});
