import type { InMemoryHistory } from '@app/history';
import { inMemoryChannels, LoopbackConnections } from '@app/testing';
import { WsMetrics } from '@app/ws';
import { Registry } from 'prom-client';
import type { ChannelsService } from './channels.service';

const USER = { id: 'u', scopes: [] };

describe('ChannelsService.sendEphemeral', () => {
  let sockets: LoopbackConnections;
  let history: InMemoryHistory;
  let registry: Registry;
  let sut: ChannelsService;

  beforeAll(async () => {
    sockets = await LoopbackConnections.start();
  });

  afterAll(() => sockets.stop());

  beforeEach(() => {
    registry = new Registry();
    ({ history, channels: sut } = inMemoryChannels(registry, new WsMetrics(registry)));
  });

  it('writes one frame to every local member, stores nothing and says how many got it', async () => {
    const [joined, following, elsewhere] = [
      await sockets.open(USER),
      await sockets.open(USER),
      await sockets.open(USER),
    ];
    await sut.join(joined.conn, 'room.a');
    await sut.follow(following.conn, 'room.a');
    await sut.join(elsewhere.conn, 'room.b');

    const change = { room: 'a', userId: 'bob' };
    expect(sut.sendEphemeral('room.a', 'presence.join', change)).toBe(2);

    for (const { client } of [joined, following]) {
      expect((await client.nextEvent('presence.join')).data).toEqual(change);
    }
    expect((await history.head('room.a')).seq).toBe(0);
    const out = await registry.getSingleMetric('realtime_ws_frames_out_total')?.get();
    expect(out?.values).toContainEqual(
      expect.objectContaining({ labels: { event: 'presence.join' }, value: 2 }),
    );
    // A member of another channel got nothing (a stored message there arrives first and alone).
    await sut.publish('room.b', 'chat.message', { room: 'b', from: 'u', body: 'marker' });
    await elsewhere.client.nextEvent('chat.message');
    expect(elsewhere.client.unread).toEqual([]);
  });

  it('leaves a member’s position alone: the next stored message still arrives once', async () => {
    const { conn, client } = await sockets.open(USER);
    await sut.join(conn, 'room.c');
    sut.sendEphemeral('room.c', 'presence.leave', { room: 'c', userId: 'bob' });
    const stored = await sut.publish('room.c', 'chat.message', {
      room: 'c',
      from: 'u',
      body: 'after',
    });
    const frames = [await client.next(() => true), await client.next(() => true)];
    expect(frames.map((f) => [f.event, f.data.seq])).toEqual([
      ['presence.leave', undefined],
      ['chat.message', stored.seq],
    ]);
  });

  it('counts no one for a channel without local members, or once they closed', async () => {
    expect(sut.sendEphemeral('room.none', 'presence.join', { room: 'none', userId: 'x' })).toBe(0);
    const { conn } = await sockets.open(USER);
    await sut.join(conn, 'room.d');
    conn.close(1000, 'bye');
    expect(sut.sendEphemeral('room.d', 'presence.join', { room: 'd', userId: 'x' })).toBe(0);
  });
});
