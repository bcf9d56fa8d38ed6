import { startNatsServer, WsTestClient, type NatsServerHandle } from '@app/testing';
import { connect, type NatsConnection } from 'nats';
import { ChildReplica } from '../support/child-replica';
import { tokenFor } from '../support/tokens';

/** Nesting far past JSON_MAX_DEPTH (32) that still fits a 64 KiB frame: ~22 ms of pipe recursion each on today's main. */
const LEVELS = 30_000;
const deep = `${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}`;
/** Frames the attacker sends: within the rate limit's burst (200), so each one is handled. */
const ATTACK_FRAMES = 150;
/** REST requests and NATS requests (plus as many NATS events) sent meanwhile, one at a time. */
const ATTACK_REQUESTS = 30;
const publisher = tokenFor('orders-service', { scope: 'notifications:publish' });

/**
 * Finding 1 of issue 10: deeply nested JSON, sent anonymously, must be refused cheaply on every
 * path (WS frame, REST body, NATS payload) with `bad_request`, logged at most once a minute per
 * source without a stack, while other clients' round trips go on unharmed. A built replica in its
 * own process, so that its log can be read.
 */
describe('hostile input: deep JSON on every path', () => {
  let nats: NatsServerHandle;
  let replica: ChildReplica;
  let raw: NatsConnection;
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    replica = await ChildReplica.start({ id: 'deep', natsUrl: nats.url });
    raw = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await raw?.close();
    await replica?.close();
    await nats?.stop();
  });

  const open = async (token?: string) => {
    const client = await WsTestClient.open(replica.wsUrl, token ? { token } : {});
    clients.push(client);
    return client;
  };

  const REFUSED = { code: 'bad_request', message: 'JSON nested deeper than JSON_MAX_DEPTH (32)' };

  /** Anonymous frames, within the rate limit: every one answered (the socket stays open). */
  async function attackOverWs(): Promise<unknown[]> {
    const attacker = await open();
    const frame = `{"event":"notifications.subscribe","data":{"streams":["public.x"],"x":${deep}}}`;
    expect(Buffer.byteLength(frame)).toBeLessThan(64 * 1024);
    const answers = [];
    for (let i = 0; i < ATTACK_FRAMES; i++) {
      attacker.sendRaw(frame);
      answers.push((await attacker.next((f) => f.event === 'error', `refusal ${i}`)).data);
    }
    // Bad input never closes the socket: it is still usable.
    await attacker.call('notifications.subscribe', { streams: ['public.x'] });
    return answers;
  }

  /** `POST /notifications` (with a service token) and `POST /auth/dev-token` (anonymous). */
  async function attackOverRest(): Promise<Array<[number, unknown]>> {
    const answers: Array<[number, unknown]> = [];
    for (let i = 0; i < ATTACK_REQUESTS; i++) {
      const notifications = i % 2 === 0;
      const res = await fetch(
        `${replica.url}${notifications ? '/notifications' : '/auth/dev-token'}`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(notifications && { authorization: `Bearer ${publisher}` }),
          },
          body: notifications
            ? `{"stream":"public.x","payload":${deep}}`
            : `{"userId":"u","x":${deep}}`,
        },
      );
      answers.push([res.status, await res.json()]);
    }
    return answers;
  }

  /** `notifications.publish` requests (answered) and `notifications.push` events (not). */
  async function attackOverNats(): Promise<unknown[]> {
    const payload = new TextEncoder().encode(`{"stream":"public.x","payload":${deep}}`);
    const answers = [];
    for (let i = 0; i < ATTACK_REQUESTS; i++) {
      raw.publish('notifications.push', payload);
      const reply = await raw.request('notifications.publish', payload, { timeout: 5000 });
      answers.push((JSON.parse(new TextDecoder().decode(reply.data)) as { err?: unknown }).err);
    }
    return answers;
  }

  it('refuses deep JSON on WS, REST and NATS with bad_request while a bystander’s requests all succeed', async () => {
    const bystander = await open(tokenFor('bystander'));
    await bystander.call('chat.join', { room: 'calm' });

    let attacking = true;
    const attack = Promise.all([attackOverWs(), attackOverRest(), attackOverNats()]).finally(
      () => (attacking = false),
    );
    // The bystander keeps asking for as long as the attack runs (bounded by the attack's length).
    const answered: string[] = [];
    for (let i = 0; attacking && i < 2_000; i++) {
      const reply = await bystander.request(i % 2 ? 'ping' : 'chat.send', {
        room: 'calm',
        ...(i % 2 ? {} : { body: `m${i}` }),
      });
      answered.push(reply.event);
    }
    const [ws, rest, nats] = await attack;

    expect(ws).toEqual(Array.from({ length: ATTACK_FRAMES }, () => REFUSED));
    expect(rest).toEqual(Array.from({ length: ATTACK_REQUESTS }, () => [400, REFUSED]));
    expect(nats).toEqual(Array.from({ length: ATTACK_REQUESTS }, () => REFUSED));
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((event) => event === 'reply')).toBe(true);
  });

  it('still takes good pushes after the bad ones', async () => {
    const subscriber = await open();
    await subscriber.call('notifications.subscribe', { streams: ['public.after'] });
    const good = await raw.request(
      'notifications.publish',
      new TextEncoder().encode('{"stream":"public.after","payload":"ok"}'),
      { timeout: 5000 },
    );
    expect(JSON.parse(new TextDecoder().decode(good.data))).toMatchObject({
      response: { seq: expect.any(Number) as number },
    });
    expect((await subscriber.nextEvent('notification')).data).toMatchObject({ payload: 'ok' });
  });

  it('logged each source at most once, without a stack trace', () => {
    const sources = replica.output
      .split('\n')
      .filter((line) => line.includes('bad input refused'))
      .map((line) => JSON.parse(line) as { context: string; subject?: string; reason: string });
    // One WS connection, one REST remote address (both routes), two NATS subjects: one line each.
    expect(sources.map((s) => `${s.context} ${s.subject ?? ''}`.trim()).sort()).toEqual([
      'HttpBody',
      'NatsInput notifications.publish',
      'NatsInput notifications.push',
      'WsHub',
    ]);
    for (const source of sources) expect(source.reason).toContain('JSON_MAX_DEPTH (32)');
    expect(replica.output).not.toMatch(/RangeError|Maximum call stack|\n\s+at /);
    expect(replica.output).not.toContain('"level":50');
  });
});
