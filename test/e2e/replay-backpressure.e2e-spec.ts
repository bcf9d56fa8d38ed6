import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeStored } from '@app/channels';
import { storeSubject } from '@app/history';
import { Relay, type RelayState } from '@app/relay';
import { startNatsServer, waitFor, type NatsServerHandle, type TestApp } from '@app/testing';
import { connect, type NatsConnection } from 'nats';
import { WebSocket } from 'ws';
import { roomChannel } from '../../src/chat/chat.subjects';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/**
 * Replays stream (issue 10, findings 2 and 3): history is read in byte-bounded pages on a
 * connection of its own and written only while the socket has room. The broker here cuts a
 * connection off past 4 MiB pending (production: 64 MiB), so the data stays modest.
 */
const MAX_PENDING = 4 * 1024 * 1024;
const BIG_ROOM = 'replay-big';
const BIG_COUNT = 300;
const BIG_BODY = 60_000; // 18 MB of history: 4.5x the socket bound, 4.5x the broker's max_pending
const HEARTBEAT_MS = 2_000;

interface Replayed {
  seqs: number[];
  bytes: number;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the join's answer (after the replay, which comes before it). */
  answer: Promise<Record<string, unknown>>;
  socket: WebSocket;
}

/** A plain ws client that joins `room` from `since` 0 and records the seq of every message. */
async function resume(url: string, userId: string, room: string): Promise<Replayed> {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${tokenFor(userId)}` } });
  const seqs: number[] = [];
  const result: Replayed = { seqs, bytes: 0, socket } as Replayed;
  let answered: (data: Record<string, unknown>) => void = () => undefined;
  result.answer = new Promise((resolve) => (answered = resolve));
  result.closed = new Promise((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (raw: Buffer) => {
    result.bytes += raw.length;
    const frame = JSON.parse(raw.toString()) as { event: string; data: Record<string, unknown> };
    if (frame.event === 'chat.message' && frame.data.room === room) {
      seqs.push(frame.data.seq as number);
    } else if (frame.data.ref === 'join') answered({ event: frame.event, ...frame.data });
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ event: 'chat.join', data: { room, since: 0, ref: 'join' } }));
  return result;
}

/** `promise`, or a failure naming `what` after `ms` (the machine is shared: generous bounds). */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const slowConsumerCloses = async (app: TestApp): Promise<number> => {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  return Number(/^realtime_ws_slow_consumer_closes_total (\S+)$/m.exec(text)?.[1] ?? 0);
};

describe('replays under back-pressure', () => {
  let nats: NatsServerHandle;
  let app: TestApp;
  let writer: NatsConnection;
  let configDir: string;
  let stored: number[];
  const states: RelayState[] = [];
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'nats-conf-'));
    const config = join(configDir, 'nats.conf');
    await writeFile(config, `max_pending: ${MAX_PENDING}\n`);
    nats = await startNatsServer({ args: ['-c', config] });
    app = await startReplica({
      NATS_URL: nats.url,
      REPLICA_ID: 'replay-a',
      WS_PING_INTERVAL_MS: String(HEARTBEAT_MS),
    });
    app.app.get(Relay).onStateChange((state) => states.push(state));
    // The history is written straight to the stream, as replicas store chat messages.
    writer = await connect({ servers: nats.url });
    const js = writer.jetstream();
    const body = 'x'.repeat(BIG_BODY);
    const acks = Array.from({ length: BIG_COUNT }, (_, i) =>
      js.publish(
        storeSubject(roomChannel(BIG_ROOM)),
        encodeStored('chat.message', { id: `m${i}`, room: BIG_ROOM, from: 'w', body, ts: i }),
      ),
    );
    stored = (await Promise.all(acks)).map((ack) => ack.seq).sort((x, y) => x - y);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await writer?.close();
    await app?.close();
    await nats?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it('resumes a big history on several sockets at once: each gets all of it, the replica stays on NATS, a bystander is answered', async () => {
    const bystander = await resume(app.wsUrl, 'replay-bystander', 'replay-quiet');
    sockets.push(bystander.socket);
    expect(await bystander.answer).toMatchObject({ event: 'reply' });

    const readers = await Promise.all(
      [1, 2, 3].map(() => resume(app.wsUrl, 'replay-reader', BIG_ROOM)),
    );
    sockets.push(...readers.map((r) => r.socket));
    // The bystander sends while the replays run; every send must be answered, none with an error.
    const answers: string[] = [];
    const sent = new Promise<void>((resolve) => {
      let ref = 0;
      bystander.socket.on('message', (raw: Buffer) => {
        const frame = JSON.parse(raw.toString()) as { event: string; data: { ref?: unknown } };
        if (typeof frame.data.ref !== 'string' || !frame.data.ref.startsWith('s')) return;
        answers.push(frame.event);
        if (answers.length === 40) resolve();
        else send();
      });
      const send = (): void =>
        bystander.socket.send(
          JSON.stringify({
            event: 'chat.send',
            data: { room: 'replay-quiet', body: `b${ref}`, ref: `s${ref++}` },
          }),
        );
      send();
    });

    const joined = await within(
      30_000,
      'the three resumes to finish',
      Promise.all(readers.map((r) => r.answer)),
    );
    await within(30_000, "the bystander's answers", sent);
    for (const [i, reader] of readers.entries()) {
      expect(joined[i]).toMatchObject({ event: 'reply', recovered: true });
      expect(reader.seqs).toEqual(stored); // every kept message, in order, each once
    }
    expect(answers).toEqual(answers.map(() => 'reply'));
    expect(states).toEqual([]); // never disconnected from the broker
    expect(readers.every((r) => r.socket.readyState === WebSocket.OPEN)).toBe(true);
  });

  it('closes a socket that stops reading with 1013, having written a bounded part of the replay', async () => {
    const before = await slowConsumerCloses(app);
    const idle = await resume(app.wsUrl, 'replay-idle', BIG_ROOM);
    sockets.push(idle.socket);
    idle.socket.pause();
    await waitFor('the idle socket to be closed as a slow consumer', async () => {
      return (await slowConsumerCloses(app)) > before;
    });
    idle.socket.resume(); // reads what was written before the close, then the close frame
    expect(await within(15_000, 'the close', idle.closed)).toMatchObject({ code: 1013 });
    // What reached the socket is an in-order prefix, bounded by the socket bound (4 MiB) plus the
    // kernel's buffers: the replica did not queue the 18 MB backlog for it.
    expect(idle.seqs).toEqual(stored.slice(0, idle.seqs.length));
    expect(idle.seqs.length).toBeLessThan(BIG_COUNT);
    expect(idle.bytes).toBeLessThan(12 * 1024 * 1024);
  });
});
