import { startNatsServer, WsTestClient } from '@app/testing';
import type { ChildReplica } from '../../support/child-replica';
import { useRig } from '../../support/failover';
import { tokenFor } from '../../support/tokens';

const SENDS = 2000;

/**
 * SIGTERM while a connection has requests in flight: every message the replica stored is answered
 * before its 1012 close ("in-flight messages are flushed"), so a client never retries, and thus
 * never duplicates, a message that was in fact stored.
 */
describe('drain with requests in flight', () => {
  const rig = useRig(startNatsServer, ['drain-a', 'drain-b'], {
    WS_RATE_PER_SECOND: '10000',
    WS_RATE_BURST: '10000',
    DRAIN_WINDOW_MS: '1000',
    HISTORY_MAX_MESSAGES: '5000',
  });

  it('answers every stored message before closing', async () => {
    const [a, b] = rig.replicas as [ChildReplica, ChildReplica];
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
