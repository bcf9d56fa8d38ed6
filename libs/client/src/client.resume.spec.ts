import { flush, startClient, type Harness } from './testing/harness';
import type { ClientOptions } from './types';

describe('RealtimeClient resume', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A client welcomed on its first connection; `answerInbox: false` lets a test play `chat.inbox`. */
  async function live(options: Partial<ClientOptions> = {}, answerInbox = true) {
    const harness = startClient(options, { answerInbox });
    await flush();
    harness.server.last.welcome();
    return harness;
  }

  /** The server drops the connection; the client comes back (after its back-off) and is welcomed. */
  async function reconnect({ server, client, of }: Harness): Promise<void> {
    server.last.serverClose(1006);
    await flush(of('disconnect').at(-1)?.retryInMs);
    expect(client.state).toBe('connecting');
    server.last.welcome();
  }

  /** The `recovered` events about rooms and streams (a live inbox without a position adds one). */
  const notRecovered = ({ of }: Harness) => of('recovered').filter((e) => e.kind !== 'inbox');

  const message = (seq: number, body = `m${seq}`) => ({
    room: 'lobby',
    id: `id${seq}`,
    seq,
    from: 'bob',
    body,
    ts: seq,
  });

  it('re-joins with since and epoch, delivers what was missed once, then sends the queue', async () => {
    const h = await live();
    const { server, client, of } = h;
    const joined = client.join('lobby');
    server.last.reply('chat.join', { seq: 10, epoch: 'e1', recovered: true });
    await expect(joined).resolves.toEqual({ room: 'lobby', seq: 10, epoch: 'e1', recovered: true });
    server.last.deliver('chat.message', message(11));

    server.last.serverClose(1006);
    const queued = client.send('lobby', 'while away');
    await flush(250);
    server.last.welcome();
    expect(client.state).toBe('resuming');
    expect(server.last.request('chat.join').data).toMatchObject({
      room: 'lobby',
      since: 11,
      epoch: 'e1',
    });
    expect(server.last.requests('chat.send')).toEqual([]);

    // The replica replays from `since`: a message the client already has is not delivered again.
    server.last.deliver('chat.message', message(11));
    server.last.deliver('chat.message', message(12));
    server.last.reply('chat.join', { seq: 12, epoch: 'e1', recovered: true });
    await flush();
    expect(client.state).toBe('live');
    expect(server.last.request('chat.send').data).toMatchObject({ body: 'while away' });
    server.last.reply('chat.send', { id: 'id13', seq: 13 });
    await expect(queued).resolves.toEqual({ id: 'id13', seq: 13 });
    server.last.deliver('chat.message', message(13));

    expect(of('message').map((m) => m.seq)).toEqual([11, 12, 13]);
    expect(notRecovered(h)).toEqual([]);
    expect(client.positions()).toEqual({
      rooms: { lobby: { seq: 13, epoch: 'e1' } },
      streams: {},
      inbox: { seq: 3, epoch: 'e1' },
    });
    await client.close();
  });

  it.each([
    ['e2', 'epoch_changed'],
    ['e1', 'history_gap'],
  ])('says so when a room is not recovered (reply epoch %s → %s)', async (epoch, reason) => {
    const h = await live();
    const { server, client } = h;
    void client.join('lobby');
    server.last.reply('chat.join', { seq: 10, epoch: 'e1', recovered: true });
    await flush();
    await reconnect(h);
    server.last.reply('chat.join', { seq: 40, epoch, recovered: false });
    await flush();
    expect(notRecovered(h)).toEqual([{ kind: 'room', room: 'lobby', recovered: false, reason }]);
    expect(client.positions().rooms.lobby).toEqual({ seq: 40, epoch });
    await client.close();
  });

  it('joins from a persisted position, and reports if it could not be recovered', async () => {
    const h = await live();
    const { server, client, of } = h;
    const joined = client.join('lobby', { seq: 5, epoch: 'old' });
    expect(server.last.request('chat.join').data).toMatchObject({ since: 5, epoch: 'old' });
    server.last.reply('chat.join', { seq: 9, epoch: 'new', recovered: false });
    await expect(joined).resolves.toMatchObject({ recovered: false });
    expect(of('recovered')).toEqual([
      { kind: 'room', room: 'lobby', recovered: false, reason: 'epoch_changed' },
    ]);
    await client.close();
  });

  it('retries a join still waiting for its reply on the next connection', async () => {
    const h = await live();
    const { server, client } = h;
    const joined = client.join('lobby');
    expect(client.join('lobby')).toBe(joined);
    await reconnect(h);
    await flush(); // the inbox resume is answered
    expect(client.state).toBe('live');
    expect(server.last.request('chat.join').data).toEqual({
      room: 'lobby',
      ref: expect.any(Number),
    });
    server.last.reply('chat.join', { seq: 3, epoch: 'e1', recovered: true });
    await expect(joined).resolves.toMatchObject({ seq: 3 });
    await client.close();
  });

  it('stops a left room at once, and does not re-join it', async () => {
    const h = await live();
    const { server, client, of } = h;
    void client.join('lobby');
    server.last.reply('chat.join', { seq: 1, epoch: 'e1', recovered: true });
    await flush();
    const left = client.leave('lobby');
    server.last.deliver('chat.message', message(2));
    server.last.reply('chat.leave', { room: 'lobby', left: true });
    await expect(left).resolves.toEqual({ room: 'lobby', left: true });
    await reconnect(h);
    expect(server.last.requests('chat.join')).toEqual([]);
    expect(of('message')).toEqual([]);
    await client.close();
  });

  it('re-subscribes streams in one request with their seqs and epoch', async () => {
    const h = await live();
    const { server, client, of } = h;
    const subscribed = client.subscribe(['public.a', 'public.b']);
    expect(server.last.request('notifications.subscribe').data).toMatchObject({
      streams: ['public.a', 'public.b'],
    });
    server.last.reply('notifications.subscribe', {
      streams: ['public.a', 'public.b'],
      epoch: 'e1',
      recovered: true,
      seqs: { 'public.a': 3, 'public.b': 4 },
    });
    await expect(subscribed).resolves.toMatchObject({ seqs: { 'public.a': 3, 'public.b': 4 } });
    const note = { stream: 'public.a', id: 'n5', seq: 5, payload: { x: 1 }, ts: 5 };
    server.last.deliver('notification', note);

    await reconnect(h);
    expect(server.last.requests('notifications.subscribe')).toHaveLength(1);
    expect(server.last.request('notifications.subscribe').data).toMatchObject({
      streams: ['public.a', 'public.b'],
      since: { 'public.a': 5, 'public.b': 4 },
      epoch: 'e1',
    });
    server.last.deliver('notification', note);
    server.last.reply('notifications.subscribe', {
      streams: ['public.a', 'public.b'],
      epoch: 'e1',
      recovered: false,
      seqs: { 'public.a': 5, 'public.b': 8 },
    });
    await flush();
    expect(of('notification')).toEqual([note]);
    // The reply does not say which stream lost messages: both are reported.
    expect(notRecovered(h)).toEqual([
      { kind: 'stream', stream: 'public.a', recovered: false, reason: 'history_gap' },
      { kind: 'stream', stream: 'public.b', recovered: false, reason: 'history_gap' },
    ]);
    await client.close();
  });

  it('follows the inbox live at first, then resumes it from the last direct message seen', async () => {
    const h = await live({}, false);
    const { server, client, of } = h;
    // The first connection only asks where the inbox stands.
    expect(server.last.request('chat.inbox').data).toEqual({ ref: expect.any(Number) });
    server.last.reply('chat.inbox', { seq: 3, epoch: 'e1', recovered: true });
    await flush();
    const direct = { id: 'd7', seq: 7, from: 'bob', to: 'alice', body: 'hi', ts: 7 };
    server.last.deliver('chat.direct', direct);

    await reconnect(h);
    expect(server.last.request('chat.inbox').data).toEqual({
      since: 7,
      epoch: 'e1',
      ref: expect.any(Number),
    });
    server.last.deliver('chat.direct', direct);
    server.last.reply('chat.inbox', { seq: 9, epoch: 'e1', recovered: true });
    await flush();

    await reconnect(h);
    expect(server.last.request('chat.inbox').data).toMatchObject({ since: 9, epoch: 'e1' });
    expect(of('direct')).toEqual([direct]);
    await client.close();
  });

  it('learns where the inbox stands on connect, and resumes from there after a reconnect', async () => {
    const h = await live();
    const { server, client, of } = h;
    await reconnect(h);
    expect(server.last.request('chat.inbox').data).toEqual({
      since: 3,
      epoch: 'e1',
      ref: expect.any(Number),
    });
    expect(of('recovered')).toEqual([]);
    await client.close();
  });

  it.each([
    ['history' as const, { since: 0 }],
    [
      { seq: 4, epoch: 'e0' },
      { since: 4, epoch: 'e0' },
    ],
  ])('inbox %j: the first connection asks for %j before going live', async (inbox, expected) => {
    const h = await live({ inbox }, false);
    const { server, client } = h;
    expect(client.state).toBe('resuming');
    expect(server.last.request('chat.inbox').data).toEqual({
      ...expected,
      ref: expect.any(Number),
    });
    server.last.reply('chat.inbox', { seq: 6, epoch: 'e0', recovered: true });
    await flush();
    expect(client.state).toBe('live');
    expect(client.positions().inbox).toEqual({ seq: 6, epoch: 'e0' });
    await client.close();
  });

  it('does not hand back the direct messages this client sent when the inbox is replayed', async () => {
    const h = await live();
    const { server, client, of } = h;
    server.last.deliver('chat.direct', { id: 'd1', seq: 1, from: 'bob', to: 'alice', body: 'a' });
    const sent = client.direct('bob', 'mine');
    server.last.reply('chat.direct', { id: 'd2', seq: 30 });
    await sent;
    await reconnect(h);
    server.last.deliver('chat.direct', {
      id: 'd2',
      seq: 2,
      from: 'alice',
      to: 'bob',
      body: 'mine',
    });
    server.last.deliver('chat.direct', { id: 'd3', seq: 3, from: 'bob', to: 'alice', body: 'b' });
    server.last.reply('chat.inbox', { seq: 3, epoch: 'e1', recovered: true });
    await flush();
    expect(of('direct').map((d) => d.id)).toEqual(['d1', 'd3']);
    await client.close();
  });

  it('delivers the inbox in seq order although live messages overtake the replay', async () => {
    const h = await live();
    const { server, client, of } = h;
    const direct = (seq: number) => ({ id: `d${seq}`, seq, from: 'bob', to: 'alice', body: seq });
    server.last.deliver('chat.direct', direct(1));
    await reconnect(h);
    // The new connection follows the inbox from `welcome` on: a live message can come first.
    server.last.deliver('chat.direct', direct(4));
    server.last.deliver('chat.direct', direct(2));
    server.last.deliver('chat.direct', direct(3));
    expect(of('direct').map((d) => d.seq)).toEqual([1]);
    server.last.reply('chat.inbox', { seq: 4, epoch: 'e1', recovered: true });
    await flush();
    server.last.deliver('chat.direct', direct(5));
    expect(of('direct').map((d) => d.seq)).toEqual([1, 2, 3, 4, 5]);
    await client.close();
  });

  it('takes the inbox epoch from any reply on the connection where it learnt its position', async () => {
    // The position request goes unanswered here: the epoch must come from the join's reply.
    const h = await live({}, false);
    const { server, client } = h;
    server.last.deliver('chat.direct', { id: 'd1', seq: 1, from: 'bob', to: 'alice', body: 'a' });
    void client.join('lobby');
    server.last.reply('chat.join', { seq: 0, epoch: 'e1', recovered: true });
    await flush();
    await reconnect(h);
    expect(server.last.request('chat.inbox').data).toMatchObject({ since: 1, epoch: 'e1' });
    await client.close();
  });

  it('retries a resume the server could not serve yet, and drops one it refuses', async () => {
    const h = await live();
    const { server, client, of } = h;
    void client.join('lobby');
    server.last.reply('chat.join', { seq: 1, epoch: 'e1', recovered: true });
    void client.join('secret');
    server.last.reply('chat.join', { seq: 1, epoch: 'e1', recovered: true });
    await flush();
    await reconnect(h);
    const [lobby, secret] = server.last.requests('chat.join');
    server.last.deliver('error', { ref: lobby?.data.ref, code: 'unavailable', message: 'broker' });
    server.last.deliver('error', { ref: secret?.data.ref, code: 'forbidden', message: 'no' });
    await flush();
    expect(client.state).toBe('live');
    expect(of('error').map((e) => [e.code, e.channel])).toEqual([
      ['unavailable', { kind: 'room', room: 'lobby' }],
      ['forbidden', { kind: 'room', room: 'secret' }],
    ]);
    await flush(250);
    expect(server.last.requests('chat.join')).toHaveLength(3);
    expect(server.last.request('chat.join').data).toMatchObject({ room: 'lobby', since: 1 });
    server.last.reply('chat.join', { seq: 1, epoch: 'e1', recovered: true });
    await flush();
    expect(Object.keys(client.positions().rooms)).toEqual(['lobby']);
    await client.close();
  });
});
