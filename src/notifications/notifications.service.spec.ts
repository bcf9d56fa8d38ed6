import type { ChannelsService } from '@app/channels';
import type { Principal } from '@app/core';
import type { InMemoryHistory } from '@app/history';
import { inMemoryChannels, LoopbackConnections } from '@app/testing';
import { WsMetrics } from '@app/ws';
import { loadConfig } from '../config/app-config';
import { NotificationsService } from './notifications.service';
import { streamChannel } from './notifications.subjects';

const alice: Principal = { id: 'alice', scopes: [] };
const bob: Principal = { id: 'bob', scopes: [] };
const MAX_STREAMS = 3;
const config = loadConfig({ WS_MAX_STREAMS: String(MAX_STREAMS) });

describe(NotificationsService.name, () => {
  let sockets: LoopbackConnections;
  let history: InMemoryHistory;
  let channels: ChannelsService;
  let sut: NotificationsService;

  beforeAll(async () => {
    sockets = await LoopbackConnections.start();
  });

  afterAll(() => sockets.stop());

  beforeEach(() => {
    ({ history, channels } = inMemoryChannels());
    sut = new NotificationsService(channels, config, new WsMetrics());
  });

  /** How many notifications `channel`'s history holds. */
  async function stored(channel: string): Promise<number> {
    return (await history.replay(channel, 0)).messages.length;
  }

  it('delivers a pushed notification to every subscriber of a public stream, anonymous ones too', async () => {
    const [a, anonymous] = [await sockets.open(alice), await sockets.open(null)];
    const subscribed = await sut.subscribe(a.conn, { streams: ['public.news'] });
    expect(subscribed).toEqual({
      streams: ['public.news'],
      epoch: expect.any(String) as unknown,
      recovered: true,
      recoveredStreams: { 'public.news': true },
      seqs: { 'public.news': 0 },
    });
    await sut.subscribe(anonymous.conn, { streams: ['public.news'] });

    const pushed = await sut.push({ stream: 'public.news', payload: { title: 'out' } });

    for (const { client } of [a, anonymous]) {
      expect((await client.nextEvent('notification')).data).toEqual({
        stream: 'public.news',
        payload: { title: 'out' },
        id: pushed.id,
        seq: pushed.seq,
        ts: expect.any(Number) as unknown,
      });
    }
  });

  it('delivers a private notification to its user only, whatever stream name others subscribe', async () => {
    const [a, b] = [await sockets.open(alice), await sockets.open(bob)];
    await sut.subscribe(a.conn, { streams: ['private.orders'] });
    await sut.subscribe(b.conn, { streams: ['private.orders'] });

    await sut.push({ stream: 'private.orders', userId: 'alice', payload: 'shipped' });
    const marker = await sut.push({ stream: 'private.orders', userId: 'bob', payload: 'marker' });

    expect((await a.client.nextEvent('notification')).data.payload).toBe('shipped');
    expect((await b.client.nextEvent('notification')).data.seq).toBe(marker.seq);
    expect(b.client.unread).toEqual([]);
  });

  it('refuses private streams to an anonymous connection', async () => {
    const anonymous = await sockets.open(null);
    await expect(
      sut.subscribe(anonymous.conn, { streams: ['public.news', 'private.orders'] }),
    ).rejects.toMatchObject({ code: 'unauthorized' });
    expect(channels.channelsOf(anonymous.conn).size).toBe(0);
  });

  it('refuses a since that names a stream not subscribed', async () => {
    const a = await sockets.open(alice);
    await expect(
      sut.subscribe(a.conn, { streams: ['public.news'], since: { 'public.other': 3 } }),
    ).rejects.toMatchObject({
      code: 'bad_request',
      fields: [{ field: 'since', message: 'not in streams: public.other' }],
    });
  });

  it(`adds none of a request's streams past ${MAX_STREAMS}`, async () => {
    const a = await sockets.open(alice);
    await sut.subscribe(a.conn, { streams: ['public.a', 'public.b'] });
    await expect(
      sut.subscribe(a.conn, { streams: ['public.a', 'public.c', 'public.d'] }),
    ).rejects.toMatchObject({ code: 'limit_exceeded' });
    expect([...channels.channelsOf(a.conn)]).toEqual([
      streamChannel('public.a'),
      streamChannel('public.b'),
    ]);
    // Streams it has already count once.
    await expect(
      sut.subscribe(a.conn, { streams: ['public.a', 'public.b', 'public.c'] }),
    ).resolves.toMatchObject({ streams: ['public.a', 'public.b', 'public.c'] });
  });

  it('resumes each stream from its own since, and answers where each one stands', async () => {
    const first = await sut.push({ stream: 'public.a', payload: 1 });
    const second = await sut.push({ stream: 'public.a', payload: 2 });
    const onB = await sut.push({ stream: 'public.b', payload: 'b' });
    const a = await sockets.open(alice);

    const subscribed = await sut.subscribe(a.conn, {
      streams: ['public.a', 'public.b'],
      since: { 'public.a': first.seq },
    });

    expect(subscribed.seqs).toEqual({ 'public.a': second.seq, 'public.b': onB.seq });
    expect((await a.client.nextEvent('notification')).data).toMatchObject({ seq: second.seq });
    expect(a.client.unread).toEqual([]);
  });

  it('stores a push once per key and caller: a repeat answers the first id and seq', async () => {
    const push = { stream: 'public.news', payload: 'once' };
    const first = await sut.push(push, { idempotencyKey: 'k', caller: 'svc-1' });
    await expect(sut.push(push, { idempotencyKey: 'k', caller: 'svc-1' })).resolves.toEqual(first);
    const other = await sut.push(push, { idempotencyKey: 'k', caller: 'svc-2' });
    expect(other.id).not.toBe(first.id);
    expect(await stored(streamChannel('public.news'))).toBe(2);
  });

  it('unsubscribes: answers the streams it left, and their notifications stop', async () => {
    const a = await sockets.open(alice);
    await sut.subscribe(a.conn, { streams: ['public.a', 'public.b'] });
    expect(sut.unsubscribe(a.conn, { streams: ['public.a', 'public.z'] })).toEqual({
      streams: ['public.a'],
    });
    await sut.push({ stream: 'public.a', payload: 'gone' });
    await sut.push({ stream: 'public.b', payload: 'kept' });
    expect((await a.client.nextEvent('notification')).data.payload).toBe('kept');
    expect(a.client.unread).toEqual([]);
  });
});
