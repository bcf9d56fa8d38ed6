import { connect } from './client';
import { ClientError } from './errors';
import { FakeServer } from './testing/fake-websocket';
import { fakeJwt } from './testing/fake-jwt';
import { URL_A, URL_B, flush, rejectionOf, startClient } from './testing/harness';

describe('RealtimeClient connection and close codes', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('connects with the token as access_token and is live on welcome', async () => {
    const { server, client, of } = startClient({ token: 'tok' });
    await flush();
    expect(server.last.url).toBe(`${URL_A}?access_token=tok`);
    expect(client.state).toBe('connecting');
    server.last.welcome('alice', 'r1');
    expect(client.state).toBe('live');
    expect(client.connection).toMatchObject({ userId: 'alice', replica: 'r1' });
    expect(of('state')).toEqual([{ state: 'live', previous: 'connecting' }]);
    await client.close();
  });

  it('uses the global WebSocket by default (browsers), and says what to do when there is none', async () => {
    const global = globalThis as { WebSocket?: unknown };
    const original = global.WebSocket;
    const server = new FakeServer();
    try {
      delete global.WebSocket;
      expect(() => connect({ url: URL_A })).toThrow(/pass `WebSocket`/);
      global.WebSocket = server.WebSocket;
      const client = connect({ url: URL_A });
      await flush();
      server.last.welcome();
      expect(client.state).toBe('live');
      await client.close();
    } finally {
      global.WebSocket = original;
    }
  });

  it('connects anonymously without token or getToken', async () => {
    const { server, client } = startClient();
    await flush();
    expect(server.last.url).toBe(URL_A);
    server.last.welcome(null);
    expect(client.connection?.userId).toBeNull();
    await client.close();
  });

  it('1012: reconnects at once, to the next URL', async () => {
    const { server, client, of } = startClient({ urls: [URL_A, URL_B] });
    await flush();
    server.last.welcome();
    server.last.serverClose(1012, 'draining');
    expect(client.state).toBe('disconnected');
    expect(of('disconnect')).toEqual([
      { code: 1012, reason: 'draining', url: URL_A, retryInMs: 0 },
    ]);
    await flush();
    expect(server.sockets).toHaveLength(2);
    expect(server.last.url).toBe(URL_B);
    server.last.welcome();
    expect(client.state).toBe('live');
    await client.close();
  });

  it('1012 from a replica that refuses while draining too: backs off instead of hammering', async () => {
    const { server, client, of } = startClient({ urls: [URL_A, URL_B] });
    await flush();
    server.last.welcome();
    server.last.serverClose(1012);
    await flush();
    server.last.open().serverClose(1012, 'draining');
    expect(of('disconnect')[1]).toMatchObject({ url: URL_B, retryInMs: 250 });
    await flush(249);
    expect(server.sockets).toHaveLength(2);
    await flush(1);
    expect(server.last.url).toBe(URL_A);
    await client.close();
  });

  it('1013: backs off with jitter, then tries the next URL', async () => {
    const { server, client, of } = startClient({ urls: [URL_A, URL_B], random: () => 0.2 });
    await flush();
    server.last.welcome();
    server.last.serverClose(1013, 'too slow');
    expect(of('disconnect')[0]?.retryInMs).toBe(100);
    await flush(99);
    expect(server.sockets).toHaveLength(1);
    await flush(1);
    expect(server.last.url).toBe(URL_B);
    await client.close();
  });

  it('grows the back-off with each failed attempt, capped, and resets it after a stable period', async () => {
    const { server, client, of } = startClient({
      random: () => 0.999999,
      backoff: { baseMs: 100, maxMs: 1000, stableMs: 5000 },
    });
    await flush();
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 6; i++) {
      server.last.refuse();
      const delay = of('disconnect').at(-1)?.retryInMs;
      delays.push(delay);
      await flush(delay);
    }
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);

    server.last.welcome();
    await flush(4999);
    server.last.serverClose(1006);
    expect(of('disconnect').at(-1)?.retryInMs).toBe(999);
    await flush(999);
    server.last.welcome();
    await flush(5000);
    server.last.serverClose(1006);
    expect(of('disconnect').at(-1)?.retryInMs).toBe(99);
    await client.close();
  });

  it('4001: gets a new token from getToken before reconnecting', async () => {
    const tokens = ['t1', 't2', 't3'];
    const { server, client, of } = startClient({ getToken: () => tokens.shift() ?? 'none' });
    await flush();
    expect(server.last.token).toBe('t1');
    // Refused at the upgrade (expired): no welcome, closed at once.
    server.last.open().serverClose(4001, 'unauthorized');
    await flush(of('disconnect').at(-1)?.retryInMs);
    expect(server.last.token).toBe('t2');
    server.last.welcome();
    // Expired while connected.
    server.last.serverClose(4001, 'token expired');
    await flush(of('disconnect').at(-1)?.retryInMs);
    expect(server.last.token).toBe('t3');
    server.last.welcome();
    expect(client.state).toBe('live');
    await client.close();
  });

  it('4001 without getToken: stops, says why, and rejects what waits', async () => {
    const { server, client, of } = startClient({ token: 'static' });
    await flush();
    server.last.welcome();
    server.last.serverClose(4001, 'token expired');
    const waiting = client.query('lobby');
    expect(client.state).toBe('closed');
    expect(of('error').map((e) => e.code)).toEqual(['unauthorized']);
    expect(of('disconnect')).toEqual([{ code: 4001, reason: 'token expired', url: URL_A }]);
    expect(await rejectionOf(waiting)).toMatchObject({ code: 'closed' });
    await flush(60_000);
    expect(server.sockets).toHaveLength(1);
  });

  it('4001 without getToken rejects queued requests with the reason', async () => {
    const { server, client } = startClient({ token: 'static' });
    await flush();
    const queued = client.query('lobby');
    server.last.open().serverClose(4001, 'unauthorized');
    const error = await rejectionOf(queued);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'unauthorized', event: 'presence.query' });
    expect(client.state).toBe('closed');
  });

  it.each([
    [1008, 'policy_violation'],
    [1009, 'message_too_big'],
  ])('%i: reports %s, then backs off', async (code, expected) => {
    const { server, client, of } = startClient();
    await flush();
    server.last.welcome();
    server.last.serverClose(code, 'limit');
    expect(of('error')).toEqual([expect.objectContaining({ code: expected, closeCode: code })]);
    expect(of('disconnect')[0]?.retryInMs).toBe(250);
    await flush(250);
    expect(server.sockets).toHaveLength(2);
    await client.close();
  });

  it('reports a failing getToken and tries again later', async () => {
    let calls = 0;
    const { server, client, of } = startClient({
      getToken: () => {
        calls++;
        if (calls === 1) throw new Error('auth server down');
        return 'ok';
      },
    });
    await flush();
    expect(of('error')).toEqual([expect.objectContaining({ code: 'token_unavailable' })]);
    expect(server.sockets).toHaveLength(0);
    expect(client.state).toBe('disconnected');
    await flush(250);
    expect(server.last.token).toBe('ok');
    await client.close();
  });

  it('refreshes the token at 80% of its lifetime with auth.refresh', async () => {
    const now = Math.floor(Date.now() / 1000);
    const first = fakeJwt({ sub: 'alice', exp: now + 100 });
    const second = fakeJwt({ sub: 'alice', exp: now + 300 });
    const { server, client, of } = startClient({ token: first, getToken: () => second });
    await flush();
    server.last.welcome();
    await flush(78_000);
    expect(server.last.requests('auth.refresh')).toHaveLength(0);
    await flush(3_000);
    expect(server.last.request('auth.refresh').data.token).toBe(second);
    server.last.reply('auth.refresh', { userId: 'alice', expiresAt: now + 300 });
    await flush();
    expect(of('token')).toEqual([{ expiresAt: now + 300 }]);
    expect(client.state).toBe('live');
    await client.close();
  });

  it('gets a new token before reconnecting when the old one has expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens = [fakeJwt({ exp: now + 10 }), fakeJwt({ exp: now + 1000 })];
    const { server, client, of } = startClient({
      getToken: () => tokens.shift() ?? 'none',
      refreshAt: false,
    });
    await flush();
    server.last.welcome();
    await flush(11_000);
    server.last.serverClose(1006);
    await flush(of('disconnect')[0]?.retryInMs);
    expect(server.last.token).toBe(fakeJwt({ exp: now + 1000 }));
    await client.close();
  });

  it('close(): closes the socket, rejects every waiting request, and never reconnects', async () => {
    const { server, client } = startClient();
    await flush();
    server.last.welcome();
    const inFlight = rejectionOf(client.send('lobby', 'hi'));
    server.last.serverClose(1006);
    const queued = rejectionOf(client.query('lobby'));
    await flush(250);
    const socket = server.last;
    socket.open();
    await client.close();
    expect(socket.closedByClient).toEqual({ code: 1000, reason: 'client closed' });
    // A send is retried on the next connection, so close() finds it waiting: closed.
    expect(await inFlight).toMatchObject({ code: 'closed' });
    expect(await queued).toMatchObject({ code: 'closed', event: 'presence.query' });
    expect(await rejectionOf(client.send('lobby', 'late'))).toMatchObject({ code: 'closed' });
    expect(client.state).toBe('closed');
    await flush(60_000);
    expect(server.sockets).toHaveLength(2);
  });
});
