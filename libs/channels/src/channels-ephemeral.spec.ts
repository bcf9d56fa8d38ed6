import type { AddressInfo } from 'node:net';
import { InMemoryHistory } from '@app/history';
import { InMemoryRelay } from '@app/relay';
import { Connection, WsMetrics } from '@app/ws';
import { Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import { ChannelsService } from './channels.service';

interface Peer {
  conn: Connection;
  frames: Array<{ event: string; data: Record<string, unknown> }>;
  /** Resolves once `count` frames have arrived. */
  received(count: number): Promise<void>;
}

describe('ChannelsService.sendEphemeral', () => {
  let server: WebSocketServer;
  let url: string;
  let history: InMemoryHistory;
  let registry: Registry;
  let sut: ChannelsService;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const client of clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    const relay = new InMemoryRelay();
    history = new InMemoryHistory(relay, {
      stream: 'RT',
      maxMsgsPerChannel: 1000,
      maxAgeMs: 0,
      replicas: 1,
    });
    registry = new Registry();
    sut = new ChannelsService(relay, history, registry, new WsMetrics(registry));
  });

  async function peer(): Promise<Peer> {
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(url);
    clients.push(client);
    const socket = await accepted;
    await new Promise((resolve) => client.once('open', resolve));
    const conn = new Connection(
      socket,
      { id: 'u', scopes: [] },
      { maxBufferedBytes: 1024 * 1024, rate: { perSecond: 1e6, burst: 1e6 } },
    );
    const frames: Peer['frames'] = [];
    const waiters: Array<[number, () => void]> = [];
    client.on('message', (raw) => {
      frames.push(JSON.parse((raw as Buffer).toString()) as Peer['frames'][number]);
      for (const [count, resolve] of waiters) if (frames.length >= count) resolve();
    });
    return {
      conn,
      frames,
      received: (count) =>
        frames.length >= count
          ? Promise.resolve()
          : new Promise((resolve) => waiters.push([count, resolve])),
    };
  }

  it('writes one frame to every local member, stores nothing and says how many got it', async () => {
    const [joined, following, elsewhere] = [await peer(), await peer(), await peer()];
    await sut.join(joined.conn, 'room.a');
    await sut.follow(following.conn, 'room.a');
    await sut.join(elsewhere.conn, 'room.b');

    const change = { room: 'a', userId: 'bob' };
    expect(sut.sendEphemeral('room.a', 'presence.join', change)).toBe(2);

    await Promise.all([joined.received(1), following.received(1)]);
    for (const p of [joined, following]) {
      expect(p.frames).toEqual([{ event: 'presence.join', data: change }]);
    }
    expect(elsewhere.frames).toEqual([]);
    expect((await history.head('room.a')).seq).toBe(0);
    const out = await registry.getSingleMetric('realtime_ws_frames_out_total')?.get();
    expect(out?.values).toContainEqual(
      expect.objectContaining({ labels: { event: 'presence.join' }, value: 2 }),
    );
  });

  it('leaves a member’s position alone: the next stored message still arrives once', async () => {
    const p = await peer();
    await sut.join(p.conn, 'room.c');
    sut.sendEphemeral('room.c', 'presence.leave', { room: 'c', userId: 'bob' });
    const stored = await sut.publish('room.c', 'chat.message', {
      room: 'c',
      from: 'u',
      body: 'after',
    });
    await p.received(2);
    expect(p.frames.map((f) => [f.event, f.data.seq])).toEqual([
      ['presence.leave', undefined],
      ['chat.message', stored.seq],
    ]);
  });

  it('counts no one for a channel without local members, or once they closed', async () => {
    expect(sut.sendEphemeral('room.none', 'presence.join', { room: 'none', userId: 'x' })).toBe(0);
    const p = await peer();
    await sut.join(p.conn, 'room.d');
    p.conn.close(1000, 'bye');
    expect(sut.sendEphemeral('room.d', 'presence.join', { room: 'd', userId: 'x' })).toBe(0);
  });
});
