/**
 * Presence figures for BENCHMARKS.md (`npm run bench:presence`, needs `npm run build`):
 * - heap per tracked (user, room) pair, on a replica with members in the room;
 * - NATS messages on presence subjects per join, with and without the room already known, over
 *   three replicas of dist/ (child processes, as the other benchmarks run them).
 * Run with --expose-gc (the npm script does). Bounded: 100 k pairs, 40 joins.
 */
import { connect } from 'nats';
import { startNatsServer, WsTestClient } from '@app/testing';
import { RoomPresence } from '../src/presence/room-presence';
import { killAll } from './lib/processes';
import { snapshotProduct, startReplica } from './lib/servers';
import { tokenFor } from './lib/sockets';

const SECRET = 'bench-presence-secret-0123456789-0123456789';

const gc = (globalThis as { gc?: () => void }).gc;

function heapPerPair(rooms: number, usersPerRoom: number): number {
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: Array<{ view: RoomPresence; local: Map<string, number> }> = [];
  for (let r = 0; r < rooms; r++) {
    const view = new RoomPresence(5000, () => undefined);
    const local = new Map<string, number>();
    for (let u = 0; u < usersPerRoom; u++) {
      // What an interested replica keeps: the cluster view and, for its own users, a local count.
      view.set(u % 3 === 0 ? 'self' : `replica-${u % 3}`, `user-${r}-${u}`, true, true);
      if (u % 3 === 0) local.set(`user-${r}-${u}`, 1);
    }
    kept.push({ view, local });
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  if (kept.length !== rooms) throw new Error('unreachable');
  return (after - before) / (rooms * usersPerRoom);
}

async function messagesPerJoin(): Promise<{ known: number; firstInterest: number }> {
  await snapshotProduct();
  const nats = await startNatsServer();
  const settings = { natsUrl: nats.url, secret: SECRET };
  const replicas = await Promise.all(
    ['p1', 'p2', 'p3'].map((id) => startReplica(id, settings, { PRESENCE_HEARTBEAT_MS: '4000' })),
  );
  const counter = await connect({ servers: nats.url });
  let count = 0;
  // Heartbeats are per replica and time, not per join: left out.
  counter.subscribe('presence.room.>', { callback: () => count++ });
  await counter.flush();
  const open = (i: number, user: string) =>
    WsTestClient.open(replicas[i % 3]!.wsUrl, { token: tokenFor(SECRET, user) });
  const clients: WsTestClient[] = [];
  try {
    // Every replica already has a member in room "known".
    for (let i = 0; i < 3; i++) {
      const c = await open(i, `seed-${i}`);
      clients.push(c);
      await c.call('chat.join', { room: 'known' });
    }
    await new Promise((r) => setTimeout(r, 500));
    count = 0;
    const joins = 20;
    for (let i = 0; i < joins; i++) {
      const c = await open(i, `user-${i}`);
      clients.push(c);
      await c.call('chat.join', { room: 'known' });
    }
    await new Promise((r) => setTimeout(r, 500));
    const known = count / joins;
    // Each join is the first member of a new room on its replica, with members on the two others.
    count = 0;
    for (let i = 0; i < joins; i++) {
      for (const j of [1, 2]) {
        const c = await open(i + j, `other-${i}-${j}`);
        clients.push(c);
        await c.call('chat.join', { room: `fresh-${i}` });
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    const seeding = count;
    count = 0;
    for (let i = 0; i < joins; i++) {
      const c = await open(i, `first-${i}`);
      clients.push(c);
      await c.call('chat.join', { room: `fresh-${i}` });
    }
    await new Promise((r) => setTimeout(r, 500));
    if (seeding === 0) throw new Error('no presence traffic seen');
    return { known, firstInterest: count / joins };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await counter.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await nats.stop();
  }
}

async function main(): Promise<void> {
  console.log('presence: heap per tracked (user, room) pair (100 rooms x 1,000 users)…');
  const perPair = heapPerPair(100, 1000);
  console.log(`  ${perPair.toFixed(0)} bytes per pair`);
  console.log('presence: NATS messages per join across 3 replicas…');
  const perJoin = await messagesPerJoin();
  console.log(`  room already known to the replica: ${perJoin.known.toFixed(2)} messages per join`);
  console.log(
    `  replica's first member of the room (2 other replicas have members): ${perJoin.firstInterest.toFixed(2)}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    killAll();
    process.exit(1);
  },
);
