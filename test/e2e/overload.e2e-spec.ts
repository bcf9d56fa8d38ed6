import {
  startNatsServer,
  waitFor,
  WsTestClient,
  type Frame,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import { connect, type NatsConnection } from 'nats';
import request from 'supertest';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/** Small, so that a burst a test can afford runs far past it. */
const MAX_INFLIGHT = 8;
const PUBLISHERS = 20;
/** Per publisher: under the per-connection rate burst and in-flight limit. */
const SENDS_EACH = 50;
const BYSTANDER_SENDS = 20;
/** A refused bystander tries again after `retryAfterMs`, at most this often. */
const MAX_ATTEMPTS = 200;

interface Message {
  id: string;
  seq: number;
  body: unknown;
}

const publisherToken = tokenFor('orders-service', { scope: 'notifications:publish' });

describe('admission: publishing past PUBLISH_MAX_INFLIGHT', () => {
  let nats: NatsServerHandle;
  let app: TestApp;
  let raw: NatsConnection;
  const clients: WsTestClient[] = [];

  const open = async (user: string): Promise<WsTestClient> => {
    const client = await WsTestClient.open(app.wsUrl, { token: tokenFor(user), timeoutMs: 20_000 });
    clients.push(client);
    return client;
  };

  /** Sends until stored, waiting what each `overloaded` answer says: as the SDK does. */
  const sendUntilStored = async (client: WsTestClient, room: string, body: unknown) => {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const answer = await client.request('chat.send', { room, body, key: `k-${String(body)}` });
      if (answer.event === 'reply') return answer.data as { id: string; seq: number };
      expect(answer.data).toMatchObject({ code: 'overloaded' });
      await new Promise((resolve) => setTimeout(resolve, Number(answer.data.retryAfterMs)));
    }
    throw new Error(`${String(body)} was refused ${MAX_ATTEMPTS} times`);
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    app = await startReplica({
      NATS_URL: nats.url,
      REPLICA_ID: 'adm',
      PUBLISH_MAX_INFLIGHT: String(MAX_INFLIGHT),
      HISTORY_MAX_MESSAGES: '10000',
    });
    raw = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    nats?.resume();
    await Promise.all(clients.map((c) => c.close()));
    await raw?.close();
    await app?.close();
    await nats?.stop();
  });

  it('answers each send of a burst with {id, seq} or overloaded: the first delivered once, the second never stored; a bystander gets every send through', async () => {
    const receiver = await open('receiver');
    await receiver.call('chat.join', { room: 'burst' });
    const publishers = await Promise.all(
      Array.from({ length: PUBLISHERS }, (_, i) => open(`publisher-${i}`)),
    );
    await Promise.all(publishers.map((p) => p.call('chat.join', { room: 'burst' })));
    const bystander = await open('bystander');
    const listener = await open('listener');
    await Promise.all([bystander, listener].map((c) => c.call('chat.join', { room: 'calm' })));

    const burst = publishers.flatMap((p, i) =>
      Array.from({ length: SENDS_EACH }, (_, j) =>
        p.request('chat.send', { room: 'burst', body: `${i}.${j}` }).then((answer) => ({
          body: `${i}.${j}`,
          answer,
        })),
      ),
    );
    const calm = Array.from({ length: BYSTANDER_SENDS }, (_, i) =>
      sendUntilStored(bystander, 'calm', `calm-${i}`),
    );
    const answers = await Promise.all(burst);

    const stored = new Map<string, { id: string; seq: number }>();
    const refused: Array<Frame> = [];
    for (const { body, answer } of answers) {
      if (answer.event === 'reply') stored.set(body, answer.data as { id: string; seq: number });
      else refused.push(answer);
    }
    for (const error of refused) {
      expect(error.data).toMatchObject({
        code: 'overloaded',
        retryAfterMs: expect.any(Number) as unknown,
      });
      expect(error.data.retryAfterMs).toBeGreaterThan(0);
    }
    // Far past the limit, so some were refused; and admission is not a wall: some got through.
    expect(refused.length).toBeGreaterThan(0);
    expect(stored.size).toBeGreaterThan(0);

    // Every send answered with an id reaches the room once, in seq order, and nothing else does.
    const end = await sendUntilStored(publishers[0]!, 'burst', 'end');
    const live: Message[] = [];
    for (;;) {
      const message = (await receiver.nextEvent<Message>('chat.message')).data;
      if (message.body === 'end') break;
      live.push(message);
    }
    expect(live.map((m) => m.body).sort()).toEqual([...stored.keys()].sort());
    expect(live.map((m) => m.seq)).toEqual(
      [...stored.values()].map((s) => s.seq).sort((a, b) => a - b),
    );
    for (const m of live) expect(m.id).toBe(stored.get(m.body as string)!.id);

    // History holds exactly those (and the end marker): no refused send was stored.
    const late = await open('late');
    const joined = await late.call<{ seq: number }>('chat.join', { room: 'burst', since: 0 });
    expect(joined.seq).toBe(end.seq);
    const replayed = late.unread.filter((f) => f.event === 'chat.message').map((f) => f.data);
    expect(replayed.map((m) => m.body).sort()).toEqual([...stored.keys(), 'end'].sort());

    // The bystander's sends all went through (after waiting when told to), and arrived in order.
    const calmStored = await Promise.all(calm);
    expect(calmStored).toHaveLength(BYSTANDER_SENDS);
    const heard = await listener.take<Message>('chat.message', BYSTANDER_SENDS);
    expect(heard.map((m) => m.seq)).toEqual(calmStored.map((s) => s.seq).sort((a, b) => a - b));
    expect(heard.map((m) => m.body).sort()).toEqual(calmStored.map((_, i) => `calm-${i}`).sort());
  });

  it('refuses at once while the broker stalls: WebSocket overloaded, REST 503 with Retry-After', async () => {
    const writer = await open('staller');
    await writer.call('chat.join', { room: 'stall' });
    const inflight = async () => {
      const text = (await request(app.app.getHttpServer()).get('/metrics')).text;
      return Number(/^realtime_publish_inflight (\d+)$/m.exec(text)?.[1]);
    };
    nats.pause();
    let admitted: Array<Promise<Frame>> = [];
    try {
      admitted = Array.from({ length: MAX_INFLIGHT }, (_, i) =>
        writer.request('chat.send', { room: 'stall', body: `stalled-${i}` }),
      );
      let seen = NaN;
      await waitFor(
        'the appends in flight to reach the limit',
        async () => (seen = await inflight()) === MAX_INFLIGHT,
        { detail: () => `in flight: ${seen}` },
      );
      // Answered while the broker still answers nothing: refused at once, not queued.
      const refused = await writer.request('chat.send', { room: 'stall', body: 'refused' });
      expect(refused).toMatchObject({ event: 'error', data: { code: 'overloaded' } });
      const rest = await request(app.app.getHttpServer())
        .post('/notifications')
        .set('authorization', `Bearer ${publisherToken}`)
        .send({ stream: 'public.stall', payload: 1 });
      expect(rest.status).toBe(503);
      expect(rest.body).toMatchObject({ code: 'overloaded' });
      expect(Number(rest.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      nats.resume();
    }
    // The admitted ones were stored once the broker went on.
    for (const answer of await Promise.all(admitted)) expect(answer.event).toBe('reply');
  });

  it('answers a burst of NATS requests with {id, seq} or an overloaded error reply', async () => {
    const encoder = new TextEncoder();
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        raw
          .request(
            'notifications.publish',
            encoder.encode(JSON.stringify({ stream: 'public.nats', payload: i })),
            { timeout: 10_000 },
          )
          .then((m) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>),
      ),
    );
    const refused = answers.filter((a) => a.err !== undefined);
    const stored = answers.filter((a) => a.response !== undefined);
    expect(refused.length + stored.length).toBe(answers.length);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.err).toMatchObject({
        code: 'overloaded',
        retryAfterMs: expect.any(Number) as unknown,
      });
    }
    for (const answer of stored) {
      expect(answer.response).toEqual({
        id: expect.any(String) as unknown,
        seq: expect.any(Number) as unknown,
      });
    }
  });
});
