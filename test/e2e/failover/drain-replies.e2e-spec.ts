import { startNatsServer, WsTestClient, type NatsServerHandle } from '@app/testing';
import { ChildReplica } from '../../support/child-replica';
import { tokenFor } from '../../support/tokens';

const SENDS = 2000;

/**
 * SIGTERM while a connection has requests in flight: every message the replica stored is answered
 * before its 1012 close ("in-flight messages are flushed"), so a client never retries, and thus
 * never duplicates, a message that was in fact stored.
 */
describe('drain with requests in flight', () => {
  let nats: NatsServerHandle;
  let a: ChildReplica;
  let b: ChildReplica;

  beforeAll(async () => {
    nats = await startNatsServer();
    const env = {
      WS_RATE_PER_SECOND: '10000',
      WS_RATE_BURST: '10000',
      DRAIN_WINDOW_MS: '1000',
      HISTORY_MAX_MESSAGES: '5000',
    };
    [a, b] = await Promise.all([
      ChildReplica.start({ id: 'drain-a', natsUrl: nats.url, env }),
      ChildReplica.start({ id: 'drain-b', natsUrl: nats.url, env }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await nats?.stop();
  });

  it('answers every stored message before closing', async () => {
    const room = 'drain-room';
    const writer = await WsTestClient.open(a.wsUrl, { token: tokenFor('writer') });
    const { epoch } = await writer.call<{ epoch: string }>('chat.join', { room });
    let replied = 0;
    let firstReply: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (firstReply = resolve));
    writer.socket.on('message', (raw) => {
      const frame = JSON.parse((raw as Buffer).toString()) as {
        event: string;
        data: { ref?: unknown };
      };
      if (frame.event === 'reply' && String(frame.data.ref).startsWith('s')) {
        replied++;
        firstReply();
      }
    });
    for (let i = 1; i <= SENDS; i++)
      writer.send('chat.send', { room, body: { n: i }, ref: `s${i}` });
    await first;
    a.signal('SIGTERM');
    expect((await writer.closed).code).toBe(1012);
    expect(await a.waitForExit()).toEqual({ code: 0, signal: null });

    const reader = await WsTestClient.open(b.wsUrl, {
      token: tokenFor('reader'),
      timeoutMs: 15_000,
    });
    const joined = await reader.call<{ recovered: boolean }>('chat.join', {
      room,
      since: 0,
      epoch,
    });
    expect(joined.recovered).toBe(true);
    // A resumed join's replay comes before its reply: every stored message is unread by now.
    const stored = reader.unread.filter((f) => f.event === 'chat.message').length;
    expect(stored).toBeGreaterThan(0);
    expect(replied).toBe(stored);
    await reader.close();
  });
});
