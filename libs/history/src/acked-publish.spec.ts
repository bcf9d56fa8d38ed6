import { Logger } from '@nestjs/common';
import { startNatsServer, waitFor, type NatsServerHandle } from '@app/testing';
import { connect, headers, type MsgHdrs, type NatsConnection, NatsError } from 'nats';
import { AckedPublisher } from './acked-publish';
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

describe(AckedPublisher.name, () => {
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

  /**
   * SIGSTOP takes effect a little late on this VM (the server was seen answering several PINGs
   * after it): return once it answers none for a while, or a publish right after gets its ack.
   */
  async function pauseBroker(): Promise<void> {
    server.pause();
    const answers = (): Promise<boolean> =>
      Promise.race([
        nc.flush().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200)),
      ]);
    while (await answers());
  }

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('answers with the seq when the ack waited in the socket past the timeout (a busy loop)', async () => {
    const appended = history.publishStored('room.busy', bytes('stored'));
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
    const sut = new AckedPublisher(nc, { timeoutMs: 3000, attemptMs: 200 });
    const subject = storeSubject('room.stall');
    await pauseBroker();
    const attempts = jest.spyOn(nc, 'publish');
    const acked = sut.publish(subject, bytes('once'), withMsgID('stall-1'));
    // Several repeats go out while the broker answers nothing.
    await waitFor(
      'three attempts while the broker stalls',
      () => publishesTo(attempts, subject) >= 3,
    );
    server.resume();
    const ack = await acked;
    attempts.mockRestore();
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('ACKS', { subjects_filter: subject });
    expect(info.state.subjects?.[subject]).toBe(1);
    expect(ack.seq).toBe(info.state.last_seq);
    expect(ack.duplicate).toBe(false);
  });

  it('fails with a timeout when no ack comes at all', async () => {
    const sut = new AckedPublisher(nc, { timeoutMs: 400, attemptMs: 150 });
    await pauseBroker();
    try {
      await expect(
        sut.publish(storeSubject('room.gone'), bytes('x'), withMsgID('gone-1')),
      ).rejects.toMatchObject({ code: 'TIMEOUT' });
    } finally {
      server.resume();
    }
  });

  it('answers many messages in flight at once, each with its own seq', async () => {
    const sut = new AckedPublisher(nc, { timeoutMs: 3000, attemptMs: 1000 });
    const acks = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        sut.publish(storeSubject(`room.many.${i % 7}`), bytes(`m${i}`), withMsgID(`many-${i}`)),
      ),
    );
    expect(new Set(acks.map((a) => a.seq)).size).toBe(500);
    expect(acks.every((a) => a.stream === 'ACKS' && !a.duplicate)).toBe(true);
  });

  it('answers a repeated id with the first seq, flagged duplicate, as js.publish does', async () => {
    const sut = new AckedPublisher(nc, { timeoutMs: 3000, attemptMs: 1000 });
    const subject = storeSubject('room.dup');
    const first = await sut.publish(subject, bytes('a'), withMsgID('dup-1'));
    const again = await sut.publish(subject, bytes('a'), withMsgID('dup-1'));
    const viaJs = await nc.jetstream().publish(subject, bytes('a'), { msgID: 'dup-1' });
    expect(again).toEqual({ ...viaJs, domain: undefined });
    expect(again).toMatchObject({ seq: first.seq, duplicate: true });
  });

  it.each([
    ['no stream stores the subject', 'nowhere.x', {}, bytes('x')],
    [
      'the stream refuses it',
      storeSubject('room.refused'),
      { 'Nats-Expected-Stream': 'OTHER' },
      bytes('x'),
    ],
    [
      'it exceeds the maximum payload',
      storeSubject('room.big'),
      {},
      new Uint8Array(2 * 1024 * 1024),
    ],
  ])('rejects as js.publish does when %s', async (_, subject, extra, data) => {
    const sut = new AckedPublisher(nc, { timeoutMs: 3000, attemptMs: 1000 });
    const hdrs = withMsgID(`refused-${subject}`);
    for (const [key, value] of Object.entries(extra)) hdrs.set(key, value);
    const ours = await sut.publish(subject, data, hdrs).then(() => undefined, errorShape);
    const theirs = await nc
      .jetstream()
      .publish(subject, data, { headers: hdrs })
      .then(() => undefined, errorShape);
    expect(ours).toBeDefined();
    expect(ours).toEqual(theirs);
  });
});

function withMsgID(msgID: string): MsgHdrs {
  const hdrs = headers();
  hdrs.set('Nats-Msg-Id', msgID);
  return hdrs;
}

function publishesTo(
  spy: jest.SpyInstance<void, Parameters<NatsConnection['publish']>>,
  subject: string,
) {
  return spy.mock.calls.filter(([s]) => s === subject).length;
}

/** What callers look at: the class, code, message and JetStream API error. */
function errorShape(err: unknown) {
  const e = err as NatsError;
  return {
    isNatsError: e instanceof NatsError,
    code: e.code,
    message: e.message,
    api: e.api_error,
  };
}
