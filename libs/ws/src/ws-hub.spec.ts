import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { Logger } from '@nestjs/common';
import { AppError, CloseCode } from '@app/core';
import { WsTestClient } from '@app/testing';
import type { Connection } from './connection';
import type { WsDispatcher } from './ws-dispatcher';
import { WsHub } from './ws-hub';
import type { WsOptions } from './ws-options';

/**
 * Gateways as the hub sees them: `test.echo` answers at once, `test.hold` once `release()` runs.
 */
class FakeDispatcher {
  private readonly held: Array<() => void> = [];
  private onHeld = (): void => undefined;

  handles(event: string): boolean {
    return event === 'test.echo' || event === 'test.hold';
  }

  dispatch(conn: Connection, event: string, data: Record<string, unknown>): void {
    conn.requestStarted();
    const answer = (): void => {
      conn.requestAnswered();
      conn.send('reply', { ...data, event });
    };
    if (event !== 'test.hold') return answer();
    this.held.push(answer);
    this.onHeld();
  }

  /** Resolves once a `test.hold` request is being handled. */
  holding(): Promise<void> {
    return new Promise((resolve) => (this.onHeld = resolve));
  }

  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  connected(): unknown[] {
    return [];
  }

  disconnected(): void {}
}

/** `Bearer ann`: user ann; `Bearer bad`: refused; `Bearer bug`: the authenticator throws a bug. */
function authenticate(request: IncomingMessage): { id: string; scopes: string[] } {
  const token = request.headers.authorization?.replace('Bearer ', '');
  if (token === undefined) throw new AppError('unauthorized', 'token required');
  if (token === 'bad') throw new AppError('unauthorized', 'invalid token');
  if (token === 'bug') throw new TypeError('oops');
  return { id: token, scopes: [] };
}

const OPTIONS: WsOptions = {
  path: '/ws',
  replicaId: 'replica-1',
  maxPayloadBytes: 64 * 1024,
  maxBufferedBytes: 1 << 20,
  rateLimit: { perSecond: 1_000, burst: 1_000 },
  maxJsonDepth: 4,
  maxInFlight: 2,
  pingIntervalMs: 60_000,
  drainWindowMs: 0,
  authenticate,
};

describe(WsHub.name, () => {
  let server: Server;
  let hub: WsHub;
  let dispatcher: FakeDispatcher;
  let url: string;

  async function start(options: Partial<WsOptions> = {}): Promise<void> {
    dispatcher = new FakeDispatcher();
    hub = new WsHub({ ...OPTIONS, ...options }, dispatcher as unknown as WsDispatcher);
    server = createServer();
    hub.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  }

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  afterEach(async () => {
    hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  describe('upgrade', () => {
    beforeEach(() => start());

    it.each([
      ['without a token', undefined, 'token required'],
      ['with a bad token', 'bad', 'invalid token'],
      ['when the authenticator fails', 'bug', 'unauthorized'],
    ])('closes %s with 4001 before any frame', async (_, token, reason) => {
      const client = await WsTestClient.connect(url, { token });
      expect(await client.closed).toEqual({ code: CloseCode.Unauthorized, reason });
      expect(client.unread).toEqual([]);
      expect(hub.size).toBe(0);
    });

    it('welcomes a good token with its user and the replica', async () => {
      const client = await WsTestClient.connect(url, { token: 'ann' });
      const welcome = await client.nextEvent('welcome');
      expect(welcome.data).toMatchObject({ userId: 'ann', replica: 'replica-1' });
      expect(hub.size).toBe(1);
    });

    it('answers another path with 404', async () => {
      await expect(WsTestClient.connect(url.replace('/ws', '/other'))).rejects.toThrow('404');
    });
  });

  describe('frame limits', () => {
    let client: WsTestClient;

    beforeEach(async () => {
      await start();
      client = await WsTestClient.open(url, { token: 'ann' });
    });

    it.each([
      ['a binary frame', Buffer.from('{}'), 'binary frames are not supported'],
      [
        'nesting past maxJsonDepth',
        '{"event":"test.echo","data":{"a":[[[1]]]}}',
        'JSON nested deeper than JSON_MAX_DEPTH (4)',
      ],
      ['invalid JSON', '{"event":', 'frame is not valid JSON'],
      ['no envelope', '[1]', 'a frame is {"event": string, "data": object}'],
      [
        'data that is not an object',
        '{"event":"test.echo","data":[1]}',
        '"data" must be an object',
      ],
    ])('answers %s with bad_request and stays open', async (_, raw, message) => {
      client.sendRaw(raw);
      expect((await client.nextEvent('error')).data).toEqual({ code: 'bad_request', message });
      expect(await client.call('test.echo', { n: 1 })).toMatchObject({ n: 1 });
    });

    it('answers an unknown event with its ref', async () => {
      expect(await client.request('nope', {})).toEqual({
        event: 'error',
        data: { ref: 'r1', code: 'bad_request', message: 'unknown event "nope"' },
      });
    });

    it('refuses a request past maxInFlight unanswered ones, and answers the others', async () => {
      const held = [client.request('test.hold'), client.request('test.hold')];
      expect((await client.request('test.echo')).data).toEqual({
        ref: 'r3',
        code: 'limit_exceeded',
        message: 'too many requests unanswered on this connection: WS_MAX_INFLIGHT is 2',
      });
      dispatcher.release();
      expect((await Promise.all(held)).map((f) => f.event)).toEqual(['reply', 'reply']);
    });
  });

  describe('rate limit', () => {
    beforeEach(() => start({ rateLimit: { perSecond: 1, burst: 2 } }));

    it('refuses frames past the burst with rate_limited and their ref', async () => {
      const client = await WsTestClient.open(url, { token: 'ann' });
      const answers = await Promise.all([1, 2, 3].map(() => client.request('test.echo')));
      expect(answers.map((f) => f.event)).toEqual(['reply', 'reply', 'error']);
      expect(answers[2]?.data).toEqual({
        ref: 'r3',
        code: 'rate_limited',
        message: 'too many frames, slow down',
      });
    });

    it('closes with 1008 a client ten times over the rate', async () => {
      const client = await WsTestClient.open(url, { token: 'ann' });
      for (let i = 0; i < 11; i++) client.send('test.echo');
      expect(await client.closed).toEqual({
        code: CloseCode.PolicyViolation,
        reason: 'rate limit exceeded',
      });
    });

    it('closes with 1008 a client sending more than the burst before its welcome', async () => {
      let setUp = (): void => undefined;
      hub.onConnect(() => new Promise<void>((resolve) => (setUp = resolve)));
      const client = await WsTestClient.connect(url, { token: 'ann' });
      for (let i = 0; i < 3; i++) client.send('test.echo');
      expect(await client.closed).toEqual({
        code: CloseCode.PolicyViolation,
        reason: 'too many frames before welcome',
      });
      setUp();
    });
  });

  it('handles the frames sent before the welcome right after it', async () => {
    await start();
    let setUp = (): void => undefined;
    hub.onConnect(() => new Promise<void>((resolve) => (setUp = resolve)));
    const receive = hub.receive.bind(hub);
    const received = new Promise<void>((resolve) => {
      hub.receive = (...args) => {
        receive(...args);
        resolve();
      };
    });
    const client = await WsTestClient.connect(url, { token: 'ann' });
    const events: string[] = [];
    client.socket.on('message', (raw) => events.push((raw as Buffer).toString().slice(0, 20)));
    const answer = client.request('test.echo', { n: 7 });
    await received;
    setUp();
    expect((await answer).data).toMatchObject({ n: 7 });
    expect(events).toEqual(['{"event":"welcome","', '{"event":"reply","da']);
  });

  it('drops a client that answers no ping for two intervals, and keeps one that does', async () => {
    await start({ pingIntervalMs: 50 });
    const answering = await WsTestClient.open(url, { token: 'ann' });
    const silent = new WebSocket(url, {
      headers: { authorization: 'Bearer bob' },
      autoPong: false,
    });
    const closed = new Promise<number>((resolve) => silent.once('close', resolve));
    let pings = 0;
    silent.on('ping', () => pings++);
    expect(await closed).toBe(1006); // terminated: no closing handshake
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
  });

  describe('drain', () => {
    beforeEach(() => start());

    it('sends reconnect, then closes with 1012, and takes no new connection', async () => {
      const client = await WsTestClient.open(url, { token: 'ann' });
      const drained = hub.drain(0);
      expect(hub.draining).toBe(true);
      expect((await client.nextEvent('reconnect')).data).toEqual({ reason: 'draining' });
      expect(await client.closed).toEqual({ code: CloseCode.ServiceRestart, reason: 'draining' });
      await drained;
      const late = await WsTestClient.connect(url, { token: 'bob' });
      expect(await late.closed).toEqual({ code: CloseCode.ServiceRestart, reason: 'draining' });
    });

    it('lets requests in flight answer first and refuses new ones', async () => {
      const client = await WsTestClient.open(url, { token: 'ann' });
      const holding = dispatcher.holding();
      const held = client.request('test.hold');
      await holding;
      const drained = hub.drain(0);
      expect((await client.request('test.echo')).data).toEqual({
        ref: 'r2',
        code: 'unavailable',
        message: 'this replica is shutting down: send it again after reconnecting',
      });
      expect(client.unread).toEqual([]);
      dispatcher.release();
      expect((await held).event).toBe('reply');
      expect((await client.nextEvent('reconnect')).data).toEqual({ reason: 'draining' });
      expect((await client.closed).code).toBe(CloseCode.ServiceRestart);
      await drained;
    });
  });
});
