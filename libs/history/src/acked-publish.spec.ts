import { Logger } from '@nestjs/common';
import { startNatsServer, waitFor, type NatsServerHandle } from '@app/testing';
import { connect, type NatsConnection } from 'nats';
import { publishUntilAcked } from './acked-publish';
import { JetStreamHistory } from './jetstream.history';
import { storeSubject } from './subjects';

Logger.overrideLogger(['error']);

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Keeps the event loop busy, as a replica flooded with frames does. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Runs `work` once the loop has written what is pending (after I/O, microtasks included). */
const afterWrites = (work: () => void) =>
  new Promise<void>((resolve) => setImmediate(() => resolve(work())));

describe(publishUntilAcked.name, () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let history: JetStreamHistory;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    history = new JetStreamHistory(nc, {
      stream: 'ACKS',
      maxMsgsPerChannel: 100,
      maxAgeMs: 0,
      replicas: 1,
      requestTimeoutMs: 300,
    });
    await history.onModuleInit();
  });

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('answers with the seq when the ack waited in the socket past the timeout (a busy loop)', async () => {
    const appended = history.append('room.busy', bytes('stored'));
    // The publish is on the wire; the loop is then busy for longer than the whole request
    // timeout, while the broker stores the message and acks it.
    await afterWrites(() => block(700));
    const { seq } = await appended;
    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage('ACKS', {
      last_by_subj: storeSubject('room.busy'),
    });
    expect(stored.seq).toBe(seq);
  });

  it('stores once across its repeats while the broker stalls, and answers the first seq', async () => {
    const js = nc.jetstream();
    const attempts = jest.spyOn(js, 'publish');
    server.pause();
    const acked = publishUntilAcked(nc, js, storeSubject('room.stall'), bytes('once'), {
      msgID: 'stall-1',
      timeoutMs: 3000,
      attemptMs: 200,
    });
    // Several repeats go out while the broker answers nothing.
    await waitFor('three attempts while the broker stalls', () => attempts.mock.calls.length >= 3);
    server.resume();
    const ack = await acked;
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('ACKS', { subjects_filter: storeSubject('room.stall') });
    expect(info.state.subjects?.[storeSubject('room.stall')]).toBe(1);
    expect(ack.seq).toBe(info.state.last_seq);
  });

  it('fails with a timeout when no ack comes at all', async () => {
    const js = nc.jetstream();
    server.pause();
    try {
      await expect(
        publishUntilAcked(nc, js, storeSubject('room.gone'), bytes('x'), {
          msgID: 'gone-1',
          timeoutMs: 400,
          attemptMs: 150,
        }),
      ).rejects.toMatchObject({ code: 'TIMEOUT' });
    } finally {
      server.resume();
    }
  });
});
