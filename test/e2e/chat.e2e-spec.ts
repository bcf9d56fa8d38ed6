import { startNatsServer, WsTestClient, type NatsServerHandle, type TestApp } from '@app/testing';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

interface ChatMessage {
  room: string;
  id: string;
  seq: number;
  from: string;
  body: unknown;
  ts: number;
}

describe('chat across two replicas through NATS', () => {
  let nats: NatsServerHandle;
  let a: TestApp;
  let b: TestApp;
  const clients: WsTestClient[] = [];

  const open = async (app: TestApp, user: string) => {
    const client = await WsTestClient.open(app.wsUrl, { token: tokenFor(user) });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    [a, b] = await Promise.all([
      startReplica({ NATS_URL: nats.url, REPLICA_ID: 'a' }),
      startReplica({ NATS_URL: nats.url, REPLICA_ID: 'b' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a?.close(), b?.close()]);
    await nats?.stop();
  });

  it('relays a room message to members on both replicas, the sender included, in order', async () => {
    const alice = await open(a, 'alice');
    const bob = await open(b, 'bob');
    const carol = await open(a, 'carol');
    for (const c of [alice, bob, carol]) await c.call('chat.join', { room: 'lobby' });

    const replies = [];
    for (let i = 0; i < 20; i++)
      replies.push(
        await alice.call<{ id: string; seq: number }>('chat.send', {
          room: 'lobby',
          body: `m${i}`,
        }),
      );

    for (const member of [alice, bob, carol]) {
      const got = await member.take<ChatMessage>('chat.message', 20);
      expect(got.map((m) => m.body)).toEqual(replies.map((_, i) => `m${i}`));
      expect(got.map((m) => m.id)).toEqual(replies.map((r) => r.id));
      expect(got.map((m) => m.seq)).toEqual(replies.map((r) => r.seq));
      expect(got.every((m) => m.from === 'alice' && m.room === 'lobby')).toBe(true);
    }
    const seqs = replies.map((r) => r.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
  });

  it('does not deliver to connections outside the room, and refuses senders who did not join', async () => {
    const member = await open(a, 'dave');
    const outsider = await open(b, 'erin');
    await member.call('chat.join', { room: 'quiet' });
    const refused = await outsider.request('chat.send', { room: 'quiet', body: 'hi' });
    expect(refused).toMatchObject({ event: 'error', data: { code: 'forbidden' } });

    await member.call('chat.send', { room: 'quiet', body: { text: 'hello', n: 1 } });
    const got = await member.nextEvent<ChatMessage>('chat.message');
    expect(got.data.body).toEqual({ text: 'hello', n: 1 });
    // A marker the outsider does receive proves the earlier message would have arrived first.
    await outsider.call('chat.join', { room: 'marker' });
    await outsider.call('chat.send', { room: 'marker', body: 'marker' });
    await outsider.nextEvent('chat.message');
    expect(outsider.unread.filter((f) => f.event === 'chat.message')).toEqual([]);
  });

  it('delivers a direct message to every connection of the recipient and the sender’s other ones', async () => {
    const sender = await open(a, 'frank');
    const senderOther = await open(b, 'frank');
    const r1 = await open(a, 'grace');
    const r2 = await open(b, 'grace');
    const r3 = await open(b, 'grace');
    // Wait until every connection's inbox subscription is live (the first inbox call orders it).
    for (const c of [sender, senderOther, r1, r2, r3]) await c.call('chat.inbox', { since: 0 });

    const sent = await sender.call<{ id: string; seq: number }>('chat.direct', {
      to: 'grace',
      body: 'psst',
    });
    for (const c of [r1, r2, r3, senderOther]) {
      const { data } = await c.nextEvent<{ id: string; from: string; to: string; body: string }>(
        'chat.direct',
      );
      expect(data).toMatchObject({ id: sent.id, from: 'frank', to: 'grace', body: 'psst' });
    }
    // The sending connection gets no echo: a direct message to itself is the marker.
    await sender.call('chat.direct', { to: 'frank', body: 'marker' });
    const own = await senderOther.nextEvent<{ body: string }>('chat.direct');
    expect(own.data.body).toBe('marker');
    expect(sender.unread.filter((f) => f.event === 'chat.direct')).toEqual([]);
  });

  it('delivers the sender its own message when it sends without waiting for the join reply', async () => {
    const eager = await open(a, 'eager');
    eager.send('chat.join', { room: 'eager', ref: 'j' });
    const sent = await eager.call<{ seq: number }>('chat.send', { room: 'eager', body: 'at once' });
    const { data } = await eager.nextEvent<ChatMessage>('chat.message');
    expect(data).toMatchObject({ seq: sent.seq, body: 'at once' });
  });

  it('stores a send repeated with the same key once, answering the first id and seq', async () => {
    const sender = await open(a, 'keyed');
    const watcher = await open(b, 'keyed-watcher');
    await sender.call('chat.join', { room: 'keyed' });
    await watcher.call('chat.join', { room: 'keyed' });
    const first = await sender.call<{ id: string; seq: number }>('chat.send', {
      room: 'keyed',
      body: 'once',
      key: 'k-1',
    });
    const again = await sender.call<{ id: string; seq: number }>('chat.send', {
      room: 'keyed',
      body: 'once',
      key: 'k-1',
    });
    expect(again).toMatchObject({ id: first.id, seq: first.seq });
    const dm1 = await sender.call<{ id: string }>('chat.direct', {
      to: 'keyed-watcher',
      body: 'dm',
      key: 'd-1',
    });
    const dm2 = await sender.call<{ id: string }>('chat.direct', {
      to: 'keyed-watcher',
      body: 'dm',
      key: 'd-1',
    });
    expect(dm2.id).toBe(dm1.id);
    await sender.call('chat.send', { room: 'keyed', body: 'marker' });
    const got = await watcher.take<ChatMessage>('chat.message', 2);
    expect(got.map((m) => m.body)).toEqual(['once', 'marker']);
    expect((await watcher.nextEvent<{ id: string }>('chat.direct')).data.id).toBe(dm1.id);
    expect(watcher.unread.filter((f) => f.event === 'chat.direct')).toEqual([]);
  });

  it('keeps one key used for two recipients apart: both copies reach the sender’s other tab', async () => {
    const sender = await open(a, 'multi');
    const otherTab = await open(b, 'multi');
    const toBob = await sender.call<{ id: string }>('chat.direct', {
      to: 'bob2',
      body: 'b',
      key: 'same',
    });
    const toCarol = await sender.call<{ id: string }>('chat.direct', {
      to: 'carol2',
      body: 'c',
      key: 'same',
    });
    expect(toCarol.id).not.toBe(toBob.id);
    const copies = await otherTab.take<{ id: string; to: string }>('chat.direct', 2);
    expect(copies.map((c) => c.to).sort()).toEqual(['bob2', 'carol2']);
  });

  it('delivers a direct message sent right after the recipient’s welcome, with no inbox call', async () => {
    const recipient = await open(b, 'fresh-recipient');
    const sender = await open(a, 'fresh-sender');
    const sent = await sender.call<{ id: string }>('chat.direct', {
      to: 'fresh-recipient',
      body: 'hi',
    });
    expect((await recipient.nextEvent<{ id: string }>('chat.direct')).data.id).toBe(sent.id);
    const position = await recipient.call<{ seq: number; epoch: string }>('chat.inbox');
    expect(position.seq).toBeGreaterThan(0);
    expect(typeof position.epoch).toBe('string');
  });

  it('answers the application-level ping, for anonymous connections too', async () => {
    const anon = await WsTestClient.open(a.wsUrl);
    clients.push(anon);
    const { ts } = await anon.call<{ ts: number }>('ping');
    expect(Math.abs(ts - Date.now())).toBeLessThan(5000);
  });

  it('resumes on the other replica with exactly the missed messages, then live ones', async () => {
    const writer = await open(a, 'henry');
    await writer.call('chat.join', { room: 'resume' });
    const reader = await open(a, 'ivy');
    const joined = await reader.call<{ seq: number; epoch: string; recovered: boolean }>(
      'chat.join',
      { room: 'resume' },
    );
    expect(joined.recovered).toBe(true);

    for (let i = 1; i <= 5; i++)
      await writer.call('chat.send', { room: 'resume', body: `before${i}` });
    const seen = await reader.take<ChatMessage>('chat.message', 5);
    const lastSeen = seen[4]!.seq;
    await reader.close();

    const missed = [];
    for (let i = 1; i <= 7; i++)
      missed.push(
        await writer.call<{ seq: number }>('chat.send', { room: 'resume', body: `missed${i}` }),
      );

    const back = await open(b, 'ivy');
    const resumed = await back.call<{ seq: number; epoch: string; recovered: boolean }>(
      'chat.join',
      {
        room: 'resume',
        since: lastSeen,
        epoch: joined.epoch,
      },
    );
    expect(resumed).toMatchObject({ recovered: true, epoch: joined.epoch, seq: missed[6]!.seq });
    const replayed = await back.take<ChatMessage>('chat.message', 7);
    expect(replayed.map((m) => m.body)).toEqual(missed.map((_, i) => `missed${i + 1}`));

    await writer.call('chat.send', { room: 'resume', body: 'live' });
    const live = await back.nextEvent<ChatMessage>('chat.message');
    expect(live.data.body).toBe('live');
    expect(back.unread.filter((f) => f.event === 'chat.message')).toEqual([]);
  });

  it('says recovered: false for an epoch the history no longer has', async () => {
    const client = await open(b, 'jack');
    const reply = await client.call<{ recovered: boolean; epoch: string }>('chat.join', {
      room: 'resume',
      since: 3,
      epoch: 'some-other-history',
    });
    expect(reply.recovered).toBe(false);
    expect(reply.epoch).not.toBe('some-other-history');
  });
});
