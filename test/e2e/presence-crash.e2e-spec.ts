import { startNatsServer, WsTestClient, type NatsServerHandle } from '@app/testing';
import { ChildReplica } from '../support/child-replica';
import { tokenFor } from '../support/tokens';

const CONTRACT_BOUND_MS = 15_000;
const reader = tokenFor('ops', { scope: 'presence:read' });

/**
 * A replica killed with SIGKILL (no goodbye, no drain) drops out of presence within 15 s, with the
 * default heartbeat and grace settings: its users leave, and REST answers say so.
 */
describe('presence after a replica is killed (child processes, default settings)', () => {
  let nats: NatsServerHandle;
  let survivor: ChildReplica;
  let victim: ChildReplica;
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    [survivor, victim] = await Promise.all([
      ChildReplica.start({ id: 'survivor', natsUrl: nats.url }),
      ChildReplica.start({ id: 'victim', natsUrl: nats.url }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([survivor?.close(), victim?.close()]);
    await nats?.stop();
  });

  const rest = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${survivor.port}${path}`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };

  it('announces the leave and corrects REST answers within 15 s of a SIGKILL', async () => {
    const observer = await WsTestClient.open(`ws://127.0.0.1:${survivor.port}/ws`, {
      token: tokenFor('watcher'),
    });
    const doomed = await WsTestClient.open(`ws://127.0.0.1:${victim.port}/ws`, {
      token: tokenFor('doomed'),
    });
    clients.push(observer, doomed);
    await observer.call('chat.join', { room: 'crash' });
    await doomed.call('chat.join', { room: 'crash' });
    await observer.next(
      (f) => f.event === 'presence.join' && f.data.userId === 'doomed',
      'doomed joining',
    );
    expect(await rest('/presence/users/doomed')).toEqual({
      userId: 'doomed',
      online: true,
      connections: 1,
    });
    expect(await rest('/presence/rooms/crash')).toEqual({
      room: 'crash',
      users: ['doomed', 'watcher'],
    });

    const killedAt = Date.now();
    await victim.kill();
    const leave = await observer.next(
      (f) => f.event === 'presence.leave' && f.data.userId === 'doomed',
      'doomed leaving',
      CONTRACT_BOUND_MS,
    );
    const elapsed = Date.now() - killedAt;
    expect(leave.data).toEqual({ room: 'crash', userId: 'doomed' });
    expect(elapsed).toBeLessThanOrEqual(CONTRACT_BOUND_MS);
    expect(await rest('/presence/users/doomed')).toEqual({
      userId: 'doomed',
      online: false,
      connections: 0,
    });
    expect(await rest('/presence/rooms/crash')).toEqual({ room: 'crash', users: ['watcher'] });
    // Only the one leave: no join or leave of anyone else was announced meanwhile.
    expect(observer.unread.filter((f) => f.event.startsWith('presence.'))).toEqual([
      { event: 'presence.join', data: { room: 'crash', userId: 'watcher' } },
    ]);
    process.stdout.write(`presence: SIGKILLed replica's user left after ${elapsed} ms\n`);
  });
});
