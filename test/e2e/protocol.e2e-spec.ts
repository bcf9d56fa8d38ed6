import { startNatsServer, WsTestClient, type NatsServerHandle, type TestApp } from '@app/testing';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

describe('protocol: bad input gets an error, never a crash', () => {
  let nats: NatsServerHandle;
  let app: TestApp;
  let client: WsTestClient;

  beforeAll(async () => {
    nats = await startNatsServer();
    app = await startReplica({
      NATS_URL: nats.url,
      WS_MAX_PAYLOAD_BYTES: '2048',
      WS_RATE_PER_SECOND: '20',
      WS_RATE_BURST: '40',
    });
    client = await WsTestClient.open(app.wsUrl, { token: tokenFor('mallory') });
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await nats?.stop();
  });

  it('welcomes with the connection id, replica and user', async () => {
    const other = await WsTestClient.connect(app.wsUrl, { token: tokenFor('oscar') });
    const { data } = await other.nextEvent('welcome');
    expect(Object.keys(data).sort()).toEqual(['connectionId', 'replica', 'userId']);
    expect(data.userId).toBe('oscar');
    expect(typeof data.connectionId).toBe('string');
    await other.close();
  });

  it('sends welcome first, answering frames that arrived before it right after', async () => {
    const { WebSocket } = await import('ws');
    const headers = { authorization: `Bearer ${tokenFor('early')}` };
    const socket = new WebSocket(app.wsUrl, { headers });
    const events: string[] = [];
    const done = new Promise<void>((resolve) =>
      socket.on('message', (raw) => {
        events.push((JSON.parse((raw as Buffer).toString()) as { event: string }).event);
        if (events.length === 3) resolve();
      }),
    );
    socket.once('open', () => {
      socket.send(JSON.stringify({ event: 'ping', data: { ref: 1 } }));
      socket.send(JSON.stringify({ event: 'ping', data: { ref: 2 } }));
    });
    await done;
    expect(events).toEqual(['welcome', 'reply', 'reply']);
    socket.close();
  });

  const cases: Array<[string, string, string]> = [
    ['invalid JSON', '{"event": "chat.join", ', 'not valid JSON'],
    ['a JSON array', '[1,2,3]', 'a frame is'],
    ['a JSON string', '"hello"', 'a frame is'],
    ['no event', '{"data": {}}', 'a frame is'],
    ['a numeric event', '{"event": 42, "data": {}}', 'a frame is'],
    [
      'data that is not an object',
      '{"event": "chat.join", "data": [1]}',
      '"data" must be an object',
    ],
    [
      'an unknown event',
      '{"event": "chat.teleport", "data": {"ref": 1}}',
      'unknown event "chat.teleport"',
    ],
  ];

  it.each(cases)(
    'answers %s with bad_request and keeps the socket open',
    async (_, raw, message) => {
      client.sendRaw(raw);
      const { data } = await client.nextEvent<{ code: string; message: string }>('error');
      expect(data.code).toBe('bad_request');
      expect(data.message).toContain(message);
    },
  );

  it('echoes the ref of an unknown event', async () => {
    const answer = await client.request('nope.nope');
    expect(answer).toMatchObject({ event: 'error', data: { code: 'bad_request' } });
  });

  it('names every bad field of a request', async () => {
    const answer = await client.request('chat.send', { room: 'bad room!', body: 12, extra: true });
    expect(answer.event).toBe('error');
    const fields = (answer.data.fields as Array<{ field: string }>).map((f) => f.field).sort();
    expect(fields).toEqual(['body', 'extra', 'room']);
    expect(answer.data.code).toBe('bad_request');
  });

  it('refuses binary frames', async () => {
    client.sendRaw(Buffer.from([1, 2, 3]));
    const { data } = await client.nextEvent<{ message: string }>('error');
    expect(data.message).toContain('binary');
  });

  it('closes with 1009 past the frame size limit', async () => {
    const big = await WsTestClient.open(app.wsUrl);
    big.send('chat.join', { room: 'x'.repeat(10), pad: 'y'.repeat(4096) });
    expect((await big.closed).code).toBe(1009);
  });

  it('answers rate_limited past the burst, and closes with 1008 when abused 10x', async () => {
    const noisy = await WsTestClient.open(app.wsUrl);
    for (let i = 0; i < 60; i++) noisy.send('nope');
    noisy.send('nope', { ref: 'counted' });
    const limited = await noisy.next(
      (f) => f.event === 'error' && f.data.code === 'rate_limited' && f.data.ref === 'counted',
      'rate_limited with its ref',
    );
    expect(limited.data.message).toContain('too many');

    for (let i = 0; i < 400; i++) noisy.send('nope');
    expect((await noisy.closed).code).toBe(1008);
  });

  it('is still serving after all of the above', async () => {
    const fresh = await WsTestClient.open(app.wsUrl, { token: tokenFor('trent') });
    await fresh.call('chat.join', { room: 'after' });
    const sent = await fresh.call<{ seq: number }>('chat.send', { room: 'after', body: 'ok' });
    const { data } = await fresh.nextEvent<{ seq: number }>('chat.message');
    expect(data.seq).toBe(sent.seq);
    const health = await fetch(`${app.url}/health/ready`);
    expect(health.status).toBe(200);
    await fresh.close();
  });
});
