import { flush, rejectionOf, startClient, startLiveClient } from './testing/harness';
import type { RequestReplies } from './types';

async function live(options: Parameters<typeof startClient>[0] = {}) {
  const harness = startClient(options);
  await flush();
  harness.server.last.welcome();
  return harness;
}

describe('RealtimeClient requests', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('correlates replies by ref, whatever their order', async () => {
    const { server, client } = await startLiveClient();
    const first = client.send('lobby', 'one');
    const second = client.send('lobby', { text: 'two' });
    const [a, b] = server.last.requests('chat.send');
    expect(a?.data).toEqual({
      room: 'lobby',
      body: 'one',
      key: expect.any(String),
      ref: expect.any(Number),
    });
    server.last.deliver('reply', { ref: b?.data.ref, id: 'id2', seq: 2 });
    server.last.deliver('reply', { ref: a?.data.ref, id: 'id1', seq: 1 });
    await expect(first).resolves.toEqual({ id: 'id1', seq: 1 });
    await expect(second).resolves.toEqual({ id: 'id2', seq: 2 });
    await client.close();
  });

  it('rejects with the server error code, message and fields', async () => {
    const { server, client } = await startLiveClient();
    const sent = rejectionOf(client.send('lobby', 'hi'));
    server.last.deliver('error', {
      ref: server.last.request('chat.send').data.ref,
      code: 'forbidden',
      message: 'join room "lobby" before sending to it',
    });
    expect(await sent).toMatchObject({
      name: 'ClientError',
      code: 'forbidden',
      event: 'chat.send',
      message: 'join room "lobby" before sending to it',
    });
    const bad = rejectionOf(client.request('chat.join', { room: '' }));
    server.last.deliver('error', {
      ref: server.last.request('chat.join').data.ref,
      code: 'bad_request',
      message: 'room',
      fields: [{ field: 'room', message: 'room must be 1-128 of A-Za-z0-9._:-' }],
    });
    expect(await bad).toMatchObject({ code: 'bad_request', fields: [{ field: 'room' }] });
    await client.close();
  });

  it("types a request by its event: the server's from RequestReplies, a custom one as a plain reply", async () => {
    const { server, client } = await startLiveClient();
    const history: Promise<RequestReplies['chat.history']> = client.request('chat.history', {
      room: 'lobby',
    });
    server.last.deliver('reply', {
      ref: server.last.request('chat.history').data.ref,
      room: 'lobby',
      epoch: 'e1',
      messages: [],
      hasMore: false,
    });
    const custom: Promise<Record<string, unknown>> = client.request('documents.open', { id: 'd' });
    server.last.deliver('reply', { ref: server.last.request('documents.open').data.ref, rev: 3 });
    await expect(history).resolves.toMatchObject({ epoch: 'e1', hasMore: false });
    await expect(custom).resolves.toMatchObject({ rev: 3 });
    await client.close();
  });

  it('times out a request without a reply, and ignores the reply arriving later', async () => {
    const { server, client, of } = await startLiveClient({ timeoutMs: 1000 });
    const sent = rejectionOf(client.send('lobby', 'hi'));
    await flush(999);
    server.last.deliver('reply', { ref: 999, id: 'other' }); // not ours: ignored
    await flush(1);
    expect(await sent).toMatchObject({ code: 'timeout', event: 'chat.send' });
    server.last.reply('chat.send', { id: 'late', seq: 1 });
    expect(of('error')).toEqual([]);
    await client.close();
  });

  it('queues requests made while not connected and sends them once live, in order', async () => {
    const { server, client } = startClient();
    const replies = [client.send('a', '1'), client.direct('bob', '2'), client.query('a')];
    await flush();
    expect(server.last.sent).toEqual([]);
    server.last.welcome();
    // After the inbox position request every connection makes (not part of the queue).
    expect(server.last.sent.map((f) => f.event)).toEqual([
      'chat.inbox',
      'chat.send',
      'chat.direct',
      'presence.query',
    ]);
    server.last.reply('chat.send', { id: 'x', seq: 1 });
    server.last.reply('chat.direct', { id: 'y', seq: 2 });
    server.last.reply('presence.query', { room: 'a', users: ['alice'] });
    expect(await Promise.all(replies)).toEqual([
      { id: 'x', seq: 1 },
      { id: 'y', seq: 2 },
      { room: 'a', users: ['alice'] },
    ]);
    await client.close();
  });

  it('refuses a request when the queue is full, at once and clearly', async () => {
    const { server, client } = startClient({ queueSize: 2 });
    const waiting = [client.send('a', '1'), client.send('a', '2')];
    const refused = await rejectionOf(client.send('a', '3'));
    expect(refused).toMatchObject({ code: 'queue_full', event: 'chat.send' });
    await flush();
    server.last.welcome();
    expect(server.last.requests('chat.send').map((f) => f.data.body)).toEqual(['1', '2']);
    server.last
      .requests('chat.send')
      .forEach((f, i) => server.last.deliver('reply', { ref: f.data.ref, id: `m${i}`, seq: i }));
    await expect(Promise.all(waiting)).resolves.toHaveLength(2);
    await client.close();
  });

  it('on a lost connection: sends a send again with the same key, and a query again', async () => {
    const { server, client } = await startLiveClient();
    const sent = client.send('lobby', 'hi');
    const first = server.last.request('chat.send').data;
    const asked = client.query({ users: ['bob'] });
    server.last.serverClose(1006);
    await flush(250);
    server.last.welcome();
    await flush(); // the inbox resume is answered, then the queue goes out
    // The same key: if the first one was stored, the server answers its {id, seq} again.
    expect(server.last.request('chat.send').data).toMatchObject({ body: 'hi', key: first.key });
    server.last.reply('chat.send', { id: 'id1', seq: 1 });
    await expect(sent).resolves.toEqual({ id: 'id1', seq: 1 });
    expect(server.last.request('presence.query').data).toMatchObject({ users: ['bob'] });
    server.last.reply('presence.query', { online: { bob: true } });
    await expect(asked).resolves.toEqual({ online: { bob: true } });
    await client.close();
  });

  it('paces frames below the server rate limit', async () => {
    // A burst of 3: the inbox position request on connect took one.
    const { server, client } = await startLiveClient({ rate: { perSecond: 10, burst: 3 } });
    for (let i = 0; i < 5; i++) void client.send('a', `${i}`).catch(() => undefined);
    expect(server.last.requests('chat.send')).toHaveLength(2);
    await flush(100);
    expect(server.last.requests('chat.send')).toHaveLength(3);
    await flush(200);
    expect(server.last.requests('chat.send')).toHaveLength(5);
    await client.close();
  });

  it('refuses a frame over the size limit without sending it', async () => {
    const { server, client } = await startLiveClient({ maxFrameBytes: 100 });
    const refused = await rejectionOf(client.send('lobby', 'é'.repeat(40)));
    expect(refused).toMatchObject({ code: 'message_too_big', event: 'chat.send' });
    expect(server.last.requests('chat.send')).toEqual([]);
    await client.close();
  });

  it('queries presence of a room and of users', async () => {
    const { server, client } = await startLiveClient();
    const room = client.query('lobby');
    expect(server.last.request('presence.query').data).toMatchObject({ room: 'lobby' });
    server.last.reply('presence.query', { room: 'lobby', users: ['alice', 'bob'] });
    await expect(room).resolves.toEqual({ room: 'lobby', users: ['alice', 'bob'] });
    await client.close();
  });

  it('reports server errors without a ref, unknown events and unreadable frames', async () => {
    const { server, client, of } = await startLiveClient();
    server.last.deliver('error', { code: 'rate_limited', message: 'too many frames, slow down' });
    server.last.deliver('reconnect', { reason: 'draining' });
    server.last.deliverRaw('not json');
    expect(of('error').map((e) => e.code)).toEqual(['rate_limited', 'protocol']);
    expect(of('frame')).toEqual([{ event: 'reconnect', data: { reason: 'draining' } }]);
    expect(client.state).toBe('live');
    await client.close();
  });

  it('keeps delivering to other listeners when one throws', async () => {
    const { server, client } = await startLiveClient();
    const thrown: unknown[] = [];
    const received: string[] = [];
    client.on('frame', () => {
      throw new Error('app bug');
    });
    client.on('frame', (f) => received.push(f.event));
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (task) => {
      try {
        task();
      } catch (error) {
        thrown.push(error);
      }
    };
    try {
      server.last.deliver('custom.event', {});
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(received).toEqual(['custom.event']);
    expect(thrown).toEqual([new Error('app bug')]);
    await client.close();
  });
});

describe('RealtimeClient and overloaded', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits retryAfterMs (plus jitter) and sends again with the same key, then resolves', async () => {
    const { server, client } = await live({ random: () => 0.5 });
    const sent = client.send('lobby', 'hi');
    const first = server.last.request('chat.send');
    server.last.deliver('error', {
      ref: first.data.ref,
      code: 'overloaded',
      message: 'busy',
      retryAfterMs: 200,
    });
    // Not before retryAfterMs * (1 + 0.5 / 2) = 250 ms.
    await flush(249);
    expect(server.last.requests('chat.send')).toHaveLength(1);
    await flush(1);
    const [, again] = server.last.requests('chat.send');
    expect(again?.data).toEqual(first.data);
    server.last.deliver('reply', { ref: again?.data.ref, id: 'id1', seq: 1 });
    await expect(sent).resolves.toEqual({ id: 'id1', seq: 1 });
    await client.close();
  });

  it('gives up with overloaded once retrying would outlast the request timeout', async () => {
    const { server, client } = await live({ timeoutMs: 1000, random: () => 0 });
    const sent = rejectionOf(client.direct('bob', 'hi'));
    const refuse = () =>
      server.last.deliver('error', {
        ref: server.last.request('chat.direct').data.ref,
        code: 'overloaded',
        message: 'busy',
        retryAfterMs: 600,
      });
    refuse();
    await flush(600);
    expect(server.last.requests('chat.direct')).toHaveLength(2);
    refuse();
    expect(await sent).toMatchObject({ code: 'overloaded', event: 'chat.direct' });
    await flush(1000);
    expect(server.last.requests('chat.direct')).toHaveLength(2);
    await client.close();
  });

  it('does not resend what is not safe to repeat, and rejects what waits when closed', async () => {
    const { server, client } = await live();
    const custom = rejectionOf(client.request('custom.event', {}));
    server.last.deliver('error', {
      ref: server.last.request('custom.event').data.ref,
      code: 'overloaded',
      message: 'busy',
      retryAfterMs: 100,
    });
    expect(await custom).toMatchObject({ code: 'overloaded' });
    const waiting = rejectionOf(client.send('lobby', 'hi'));
    server.last.deliver('error', {
      ref: server.last.request('chat.send').data.ref,
      code: 'overloaded',
      message: 'busy',
      retryAfterMs: 100,
    });
    await client.close();
    expect(await waiting).toMatchObject({ code: 'closed' });
    await flush(1000);
    expect(server.last.requests('chat.send')).toHaveLength(1);
  });
});
