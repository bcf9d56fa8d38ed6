import type { AddressInfo } from 'node:net';
import { Test, type TestingModule } from '@nestjs/testing';
import { ChannelsService } from '@app/channels';
import { HistoryStore, InMemoryHistory } from '@app/history';
import {
  InMemoryBus,
  InMemoryRelay,
  Relay,
  type RelayHandler,
  type RelayMessage,
} from '@app/relay';
import { Connection, WsHub, WsMetrics } from '@app/ws';
import { Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import { roomChannel } from '../chat/chat.subjects';
import { ClusterMembership, ClusterPublisher, ClusterQuery } from '../cluster';
import { ReplicaStatsReader } from '../cluster/replica-stats';
import { AppConfig, loadConfig } from '../config';
import { ConnectionQuota } from './connection-quota';
import { PresenceService } from './presence.service';

/** A replica's broker connection that can die with its process: it then sends and hears nothing. */
class KillableRelay extends InMemoryRelay {
  private dead = false;
  kill(): void {
    this.dead = true;
  }
  override publishEphemeral(subject: string, message: RelayMessage): Promise<void> {
    return this.dead ? Promise.resolve() : super.publishEphemeral(subject, message);
  }
  override subscribe(subject: string, onMessage: RelayHandler): () => void {
    return super.subscribe(subject, (m, s) => {
      if (!this.dead) onMessage(m, s);
    });
  }
}

/** The hub as presence sees it: it announces each signed-in connection. */
class ConnectingHub {
  private readonly listeners: Array<(conn: Connection) => unknown> = [];
  readonly size = 0;
  onConnect(listener: (conn: Connection) => unknown): void {
    this.listeners.push(listener);
  }
  connected(conn: Connection): void {
    for (const listener of this.listeners) void listener(conn);
  }
}

interface Replica {
  presence: PresenceService;
  channels: ChannelsService;
  hub: ConnectingHub;
  relay: KillableRelay;
  module: TestingModule;
}

interface PresenceFrame {
  event: string;
  data: { room: string; userId: string };
}

/** One client socket and the server's connection of it, with the presence frames it received. */
interface Client {
  conn: Connection;
  socket: WebSocket;
  frames: PresenceFrame[];
  /** Resolves with the first frame (received so far or later) that `match` accepts. */
  next(match: (frame: PresenceFrame) => boolean): Promise<PresenceFrame>;
}

const ROOM = 'lobby';

describe(PresenceService.name, () => {
  let server: WebSocketServer;
  let url: string;
  let bus: InMemoryBus;
  let replicas: Replica[];
  let clients: Client[];

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  beforeEach(() => {
    bus = new InMemoryBus();
    replicas = [];
    clients = [];
  });
  afterEach(async () => {
    for (const client of clients) client.socket.terminate();
    for (const replica of replicas) await replica.module.close();
  });

  /** A replica's presence over a real cluster layer and real channels, on the shared bus. */
  async function replica(): Promise<Replica> {
    const relay = new KillableRelay(bus);
    const hub = new ConnectingHub();
    const config = loadConfig({
      PRESENCE_HEARTBEAT_MS: '100',
      PRESENCE_GRACE_MS: '0',
      PRESENCE_SYNC_WINDOW_MS: '10',
    });
    const module = await Test.createTestingModule({
      providers: [
        { provide: Relay, useValue: relay },
        {
          provide: HistoryStore,
          useValue: new InMemoryHistory(relay, {
            stream: 'RT',
            maxMsgsPerChannel: 100,
            maxAgeMs: 0,
            replicas: 1,
          }),
        },
        { provide: AppConfig, useValue: config },
        { provide: WsHub, useValue: hub },
        { provide: Registry, useValue: new Registry() },
        { provide: WsMetrics, useValue: new WsMetrics(new Registry()) },
        ChannelsService,
        ReplicaStatsReader,
        ClusterPublisher,
        ClusterMembership,
        ClusterQuery,
        ConnectionQuota,
        PresenceService,
      ],
    }).compile();
    await module.init();
    const created: Replica = {
      presence: module.get(PresenceService),
      channels: module.get(ChannelsService),
      hub,
      relay,
      module,
    };
    replicas.push(created);
    return created;
  }

  /** A signed-in connection of `userId` on `at`. */
  async function connect(at: Replica, userId: string): Promise<Client> {
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const socket = new WebSocket(url);
    const serverSide = await accepted;
    await new Promise((resolve) => socket.once('open', resolve));
    const conn = new Connection(
      serverSide,
      { id: userId, scopes: [] },
      { maxBufferedBytes: 1 << 20, rate: { perSecond: 1e6, burst: 1e6 } },
    );
    const frames: PresenceFrame[] = [];
    const waiters = new Set<() => void>();
    socket.on('message', (raw) => {
      frames.push(JSON.parse((raw as Buffer).toString()) as PresenceFrame);
      for (const wake of waiters) wake();
    });
    const client: Client = {
      conn,
      socket,
      frames,
      next: (match) =>
        new Promise((resolve) => {
          const check = (): void => {
            const found = frames.find(match);
            if (!found) return;
            waiters.delete(check);
            resolve(found);
          };
          waiters.add(check);
          check();
        }),
    };
    clients.push(client);
    at.hub.connected(conn);
    return client;
  }

  /** What `chat.join` does: the room's channel first, then presence. */
  async function join(at: Replica, client: Client, room = ROOM): Promise<void> {
    await at.channels.join(client.conn, roomChannel(room));
    at.presence.enter(client.conn, room);
  }

  async function disconnect(client: Client): Promise<void> {
    const closed = new Promise<void>((resolve) => client.conn.onClose(resolve));
    client.socket.close();
    await closed;
  }

  const about =
    (event: string, userId: string) =>
    (frame: PresenceFrame): boolean =>
      frame.event === event && frame.data.userId === userId;
  const eventsAbout = (client: Client, userId: string): string[] =>
    client.frames.filter((f) => f.data.userId === userId).map((f) => f.event);

  it('announces a first connection to the room’s members, on this replica and the others', async () => {
    const [a, b] = [await replica(), await replica()];
    const bob = await connect(a, 'bob');
    const carol = await connect(b, 'carol');
    const outsider = await connect(a, 'dave');
    await join(a, bob);
    await join(b, carol);
    await join(a, outsider, 'elsewhere');

    const alice = await connect(a, 'alice');
    await join(a, alice);

    const expected = { event: 'presence.join', data: { room: ROOM, userId: 'alice' } };
    await expect(bob.next(about('presence.join', 'alice'))).resolves.toEqual(expected);
    await expect(carol.next(about('presence.join', 'alice'))).resolves.toEqual(expected);
    await expect(alice.next(about('presence.join', 'alice'))).resolves.toEqual(expected);
    // Only the room's members hear of it: the outsider's next news is about its own room.
    await join(a, await connect(a, 'erin'), 'elsewhere');
    await outsider.next(about('presence.join', 'erin'));
    expect(eventsAbout(outsider, 'alice')).toEqual([]);
  });

  it('announces the leave when the user’s last connection in the room goes', async () => {
    const a = await replica();
    const bob = await connect(a, 'bob');
    await join(a, bob);
    const [first, second] = [await connect(a, 'alice'), await connect(a, 'alice')];
    await join(a, first);
    await join(a, second);
    await bob.next(about('presence.join', 'alice'));

    await disconnect(first);
    // A leave (grace 0) would be out before the news of a newcomer, who needs a socket round trip.
    await join(a, await connect(a, 'zed'));
    await bob.next(about('presence.join', 'zed'));
    expect(eventsAbout(bob, 'alice')).toEqual(['presence.join']);
    expect(await a.presence.roomUsers(ROOM)).toEqual(['alice', 'bob', 'zed']);
    expect(await a.presence.users(['alice'])).toEqual([
      { userId: 'alice', online: true, connections: 1 },
    ]);

    await disconnect(second);
    await bob.next(about('presence.leave', 'alice'));
    expect(eventsAbout(bob, 'alice')).toEqual(['presence.join', 'presence.leave']);
    expect(await a.presence.roomUsers(ROOM)).toEqual(['bob', 'zed']);
  });

  it('counts several connections of one user once in the room and each across the cluster', async () => {
    const [a, b] = [await replica(), await replica()];
    const bob = await connect(a, 'bob');
    await join(a, bob);
    const aliceHere = [await connect(a, 'alice'), await connect(a, 'alice')];
    const aliceThere = await connect(b, 'alice');
    for (const client of aliceHere) await join(a, client);
    await join(b, aliceThere);
    // Bob's next news comes after everything about alice's three joins.
    const carol = await connect(a, 'carol');
    await join(a, carol);
    await bob.next(about('presence.join', 'carol'));

    expect(eventsAbout(bob, 'alice')).toEqual(['presence.join']);
    expect(await b.presence.users(['alice', 'bob', 'nobody'])).toEqual([
      { userId: 'alice', online: true, connections: 3 },
      { userId: 'bob', online: true, connections: 1 },
      { userId: 'nobody', online: false, connections: 0 },
    ]);
    expect(await b.presence.roomUsers(ROOM)).toEqual(['alice', 'bob', 'carol']);
  });

  it('drops the users of a replica that died, within a few missed heartbeats', async () => {
    const [a, b] = [await replica(), await replica()];
    const bob = await connect(a, 'bob');
    await join(a, bob);
    const carol = await connect(b, 'carol');
    await join(b, carol);
    await bob.next(about('presence.join', 'carol'));
    expect(await a.presence.users(['carol'])).toEqual([
      { userId: 'carol', online: true, connections: 1 },
    ]);

    b.relay.kill(); // no goodbye: its heartbeats just stop

    await bob.next(about('presence.leave', 'carol'));
    expect(await a.presence.roomUsers(ROOM)).toEqual(['bob']);
    expect(await a.presence.users(['carol'])).toEqual([
      { userId: 'carol', online: false, connections: 0 },
    ]);
  });
});
