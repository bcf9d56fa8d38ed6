import { connect, headers as natsHeaders, type Msg, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { fromNatsHeaders, headersOf } from './nats-headers';
import { rawHeaderBlock } from './nats-internals';

/** Fails after an upgrade of nats.js that moves what `nats-internals.ts` reads. */
let subjects = 0;

describe('nats.js internals', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });

  afterAll(async () => {
    await nc.close();
    await server.stop();
  });

  /** The messages received on a fresh subject for what `send` publishes there. */
  async function receive(count: number, send: (subject: string) => void): Promise<Msg[]> {
    const subject = `internals.${++subjects}`;
    const sub = nc.subscribe(subject, { max: count });
    send(subject);
    const received: Msg[] = [];
    for await (const msg of sub) received.push(msg);
    return received;
  }

  it('reads the header block of a received message, as msg.headers decodes it', async () => {
    const sent = natsHeaders();
    sent.set('Rt-Origin', 'conn-1');
    sent.set('Nats-Msg-Id', 'p.1');
    const [msg] = await receive(1, (subject) =>
      nc.publish(subject, Buffer.from('{"event":"e"}'), { headers: sent }),
    );

    const block = rawHeaderBlock(msg!);
    expect(block).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(block!).toString()).toMatch(/^NATS\/1\.0\r\n[^]*\r\n\r\n$/);
    expect(headersOf(msg!)).toEqual(fromNatsHeaders(msg!.headers!));
    expect(Buffer.from(msg!.data).toString()).toBe('{"event":"e"}');
  });

  it('knows a received message without headers', async () => {
    const [msg] = await receive(1, (subject) => nc.publish(subject, Buffer.from('plain')));

    expect(rawHeaderBlock(msg!)).toBeUndefined();
    expect(headersOf(msg!)).toBeUndefined();
  });
});
