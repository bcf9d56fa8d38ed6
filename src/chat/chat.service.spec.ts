import type { ChannelsService } from '@app/channels';
import type { Principal } from '@app/core';
import type { InMemoryHistory } from '@app/history';
import { inMemoryChannels, LoopbackConnections } from '@app/testing';
import { WsMetrics, type Connection, type WsHub } from '@app/ws';
import { RoomAccess } from '../auth';
import { loadConfig } from '../config/app-config';
import type { PresenceService } from '../presence/presence.service';
import { ChatService } from './chat.service';
import { inboxChannel, roomChannel } from './chat.subjects';
import { RoomHistory } from './room-history.service';

const alice: Principal = { id: 'alice', scopes: [] };
const bob: Principal = { id: 'bob', scopes: [] };
const MAX_ROOMS = 3;
/** `lobby` and `open.*` are open to every signed-in user; others need the token's `rooms` claim. */
const config = loadConfig({ ROOMS_OPEN: 'lobby,open.*', WS_MAX_ROOMS: String(MAX_ROOMS) });

/** What the chat needs of the hub: its connect and refresh hooks, and its metrics. */
class HubHooks {
  readonly metrics = new WsMetrics();
  connect?: (conn: Connection) => Promise<void> | undefined;
  refresh?: (conn: Connection) => Promise<void>;
  onConnect(listener: HubHooks['connect']): void {
    this.connect = listener;
  }
  onRefresh(listener: HubHooks['refresh']): void {
    this.refresh = listener;
  }
}

describe(ChatService.name, () => {
  let sockets: LoopbackConnections;
  let history: InMemoryHistory;
  let channels: ChannelsService;
  let hub: HubHooks;
  let present: string[];
  let sut: ChatService;

  beforeAll(async () => {
    sockets = await LoopbackConnections.start();
  });

  afterAll(() => sockets.stop());

  beforeEach(() => {
    const { relay, ...store } = inMemoryChannels();
    ({ history, channels } = store);
    hub = new HubHooks();
    present = [];
    const presence = {
      enter: (conn: Connection, room: string) => present.push(`${conn.userId}@${room}`),
      exit: (conn: Connection, room: string) => {
        present = present.filter((p) => p !== `${conn.userId}@${room}`);
      },
    } as unknown as PresenceService;
    sut = new ChatService(
      channels,
      presence,
      hub as unknown as WsHub,
      new RoomAccess(config),
      new RoomHistory(history, relay),
      config,
    );
    sut.onModuleInit();
  });

  /** A signed-in connection, welcomed as the hub does: following its user's inbox. */
  async function connect(user: Principal | null) {
    const socket = await sockets.open(user);
    await hub.connect?.(socket.conn);
    return socket;
  }

  /** How many messages `channel`'s history holds. */
  async function stored(channel: string): Promise<number> {
    return (await history.replay(channel, 0)).messages.length;
  }

  describe('rooms', () => {
    it('joins an allowed room: members get each message with the id and seq of the reply', async () => {
      const [a, b] = [await connect(alice), await connect(bob)];
      await expect(sut.join(a.conn, { room: 'lobby' })).resolves.toEqual({
        room: 'lobby',
        seq: 0,
        epoch: expect.any(String) as unknown,
        recovered: true,
      });
      await sut.join(b.conn, { room: 'lobby' });
      expect(present).toEqual(['alice@lobby', 'bob@lobby']);

      const sent = await sut.send(a.conn, { room: 'lobby', body: 'hi' });

      for (const { client } of [a, b]) {
        expect((await client.nextEvent('chat.message')).data).toEqual({
          room: 'lobby',
          from: 'alice',
          body: 'hi',
          id: sent.id,
          seq: sent.seq,
          ts: expect.any(Number) as unknown,
        });
      }
    });

    it('refuses a room the token does not cover, and leaves no membership behind', async () => {
      const a = await connect(alice);
      await expect(sut.join(a.conn, { room: 'secret' })).rejects.toMatchObject({
        code: 'forbidden',
      });
      expect(channels.isMember(a.conn, roomChannel('secret'))).toBe(false);
      expect(present).toEqual([]);
      // The token's `rooms` claim opens it.
      const b = await connect({ ...bob, rooms: ['secret'] });
      await expect(sut.join(b.conn, { room: 'secret' })).resolves.toMatchObject({ room: 'secret' });
    });

    it('refuses a send or a history read to a non-member, and stores nothing', async () => {
      const a = await connect(alice);
      await expect(sut.send(a.conn, { room: 'lobby', body: 'hi' })).rejects.toMatchObject({
        code: 'forbidden',
      });
      await expect(sut.history(a.conn, { room: 'lobby' })).rejects.toMatchObject({
        code: 'forbidden',
      });
      expect(await stored(roomChannel('lobby'))).toBe(0);
    });

    it('refuses an anonymous connection', async () => {
      const anonymous = await connect(null);
      await expect(sut.join(anonymous.conn, { room: 'lobby' })).rejects.toMatchObject({
        code: 'unauthorized',
      });
      await expect(sut.direct(anonymous.conn, { to: 'bob', body: 'hi' })).rejects.toMatchObject({
        code: 'unauthorized',
      });
    });

    it(`refuses a join past ${MAX_ROOMS} rooms with limit_exceeded`, async () => {
      const a = await connect(alice);
      for (let i = 0; i < MAX_ROOMS; i++) await sut.join(a.conn, { room: `open.${i}` });
      await expect(sut.join(a.conn, { room: 'lobby' })).rejects.toMatchObject({
        code: 'limit_exceeded',
      });
      // Joining a room it is in again is no new room.
      await expect(sut.join(a.conn, { room: 'open.0' })).resolves.toMatchObject({ room: 'open.0' });
    });

    it('sends a message once per key: a repeat answers the first id and seq', async () => {
      const a = await connect(alice);
      await sut.join(a.conn, { room: 'lobby' });
      const first = await sut.send(a.conn, { room: 'lobby', body: 'once', key: 'k1' });
      await expect(sut.send(a.conn, { room: 'lobby', body: 'once', key: 'k1' })).resolves.toEqual(
        first,
      );
      expect(await stored(roomChannel('lobby'))).toBe(1);
    });

    it('pages a room’s history for members, oldest first', async () => {
      const a = await connect(alice);
      await sut.join(a.conn, { room: 'lobby' });
      const sent = [];
      for (const body of ['one', 'two', 'three']) {
        sent.push(await sut.send(a.conn, { room: 'lobby', body }));
      }
      const page = await sut.history(a.conn, { room: 'lobby', limit: 2 });
      expect(page).toMatchObject({ room: 'lobby', hasMore: true });
      expect(page.messages.map((m) => [m.id, m.seq, m.body])).toEqual([
        [sent[1]!.id, sent[1]!.seq, 'two'],
        [sent[2]!.id, sent[2]!.seq, 'three'],
      ]);
    });

    it('takes a connection out of rooms its refreshed token no longer covers', async () => {
      const a = await connect({ ...alice, rooms: ['secret'] });
      await sut.join(a.conn, { room: 'secret' });
      await sut.join(a.conn, { room: 'lobby' });
      a.conn.user = alice; // refreshed without the claim
      await hub.refresh?.(a.conn);
      expect((await a.client.nextEvent('chat.removed')).data).toEqual({
        room: 'secret',
        reason: 'permission_revoked',
      });
      expect(channels.isMember(a.conn, roomChannel('secret'))).toBe(false);
      expect(channels.isMember(a.conn, roomChannel('lobby'))).toBe(true);
      expect(present).toEqual(['alice@lobby']);
    });
  });

  describe('direct messages', () => {
    it('stores one message in both inboxes under one id: the recipient and the sender’s other connections get it', async () => {
      const [sending, otherOfAlice, ofBob] = [
        await connect(alice),
        await connect(alice),
        await connect(bob),
      ];

      const sent = await sut.direct(sending.conn, { to: 'bob', body: 'psst' });

      const toBob = await ofBob.client.nextEvent('chat.direct');
      const toAlice = await otherOfAlice.client.nextEvent('chat.direct');
      expect(toBob.data).toMatchObject({ id: sent.id, seq: sent.seq, from: 'alice', to: 'bob' });
      expect(toAlice.data).toMatchObject({ id: sent.id, from: 'alice', to: 'bob', body: 'psst' });
      expect((await history.head(inboxChannel('bob'))).seq).toBe(sent.seq);
      expect((await history.head(inboxChannel('alice'))).seq).toBe(toAlice.data.seq);
      // The sending connection has it already (the reply): no echo.
      await sut.direct(otherOfAlice.conn, { to: 'bob', body: 'marker' });
      expect((await sending.client.nextEvent('chat.direct')).data.body).toBe('marker');
    });

    it('stores a message to oneself once', async () => {
      const a = await connect(alice);
      await sut.direct(a.conn, { to: 'alice', body: 'note' });
      expect(await stored(inboxChannel('alice'))).toBe(1);
    });

    it('resumes the inbox from a seq: only what came after it', async () => {
      const a = await connect(alice);
      const first = await sut.direct(a.conn, { to: 'bob', body: 'one' });
      const second = await sut.direct(a.conn, { to: 'bob', body: 'two' });
      const later = await sockets.open(bob); // not following its inbox yet
      await expect(sut.inbox(later.conn, { since: first.seq })).resolves.toMatchObject({
        seq: second.seq,
        recovered: true,
      });
      expect((await later.client.nextEvent('chat.direct')).data).toMatchObject({
        id: second.id,
        body: 'two',
      });
      expect(later.client.unread).toEqual([]);
    });
  });
});
