import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  WsTestClient,
  startNatsServer,
  waitFor,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import type { WebhookBody, WebhookEvent } from '../../src/webhooks/webhook-event';
import { SIGNATURE_HEADER, verify } from '../../src/webhooks/webhook-signature';
import { ChildReplica } from '../support/child-replica';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/**
 * Webhooks across replicas, received by a real HTTP server on loopback: each cluster-wide
 * transition arrives once, signed; a failed POST is retried; an event queued by a replica killed
 * with -9 is still delivered.
 */

const SECRET = 'webhook-secret-for-the-e2e-suite';

interface Received {
  status: number;
  body: WebhookBody;
  signed: boolean;
}

/** A receiver that records every POST and answers what `answer` says for it. */
class Receiver {
  readonly posts: Received[] = [];
  answer: (body: WebhookBody) => number = () => 200;
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const body = JSON.parse(raw) as WebhookBody;
      const status = this.answer(body);
      this.posts.push({ status, body, signed: signedWith(request.headers, raw) });
      response.writeHead(status).end();
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Every event of a POST answered 2xx. */
  delivered(): WebhookEvent[] {
    return this.posts.filter((p) => p.status < 300).flatMap((p) => p.body.events);
  }

  deliveredFor(name: string, key: { userId?: string; room?: string }): WebhookEvent[] {
    return this.delivered().filter(
      (e) => e.name === name && e.userId === key.userId && e.room === key.room,
    );
  }

  waitDelivered(name: string, key: { userId?: string; room?: string }): Promise<number> {
    return waitFor(
      `${name} ${JSON.stringify(key)} delivered`,
      () => this.deliveredFor(name, key).length > 0,
      {
        detail: () => JSON.stringify(this.posts.map((p) => [p.status, p.body.events])),
      },
    );
  }
}

function signedWith(headers: IncomingHttpHeaders, raw: string): boolean {
  const header = headers[SIGNATURE_HEADER.toLowerCase()];
  return typeof header === 'string' && verify(SECRET, raw, header);
}

describe('webhooks', () => {
  let nats: NatsServerHandle;
  let receiver: Receiver;
  let env: Record<string, string>;
  let a: TestApp;
  let b: TestApp;
  const clients: WsTestClient[] = [];

  const open = async (replica: { wsUrl: string }, userId: string): Promise<WsTestClient> => {
    const client = await WsTestClient.open(replica.wsUrl, { token: tokenFor(userId) });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    receiver = new Receiver();
    env = {
      NATS_URL: nats.url,
      WEBHOOK_URL: await receiver.listen(),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BATCH_MS: '50',
      PRESENCE_GRACE_MS: '300',
      // A replica under a loaded machine must not be taken for dead (three missed beats).
      PRESENCE_HEARTBEAT_MS: '500',
    };
    [a, b] = await Promise.all([startReplica(env), startReplica(env)]);
  });

  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    await Promise.all([a?.close(), b?.close()]);
    await receiver?.close();
    await nats?.stop();
  });

  it('reports each transition once across two replicas, signed', async () => {
    // Alice comes in on both replicas at once, and joins the same room on both.
    const [onA, onB] = await Promise.all([open(a, 'alice'), open(b, 'alice')]);
    await Promise.all([
      onA.call('chat.join', { room: 'hooks' }),
      onB.call('chat.join', { room: 'hooks' }),
    ]);
    await receiver.waitDelivered('user.online', { userId: 'alice' });
    await receiver.waitDelivered('room.occupied', { room: 'hooks' });
    onA.socket.close();
    onB.socket.close();
    await receiver.waitDelivered('user.offline', { userId: 'alice' });
    await receiver.waitDelivered('room.vacated', { room: 'hooks' });

    const events = receiver.delivered().filter((e) => e.userId === 'alice' || e.room === 'hooks');
    expect(events.map((e) => e.name).sort()).toEqual([
      'room.occupied',
      'room.vacated',
      'user.offline',
      'user.online',
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
    expect(receiver.posts.every((p) => p.signed)).toBe(true);
    // In order per key: online before offline, occupied before vacated.
    const at = (name: string): number => events.find((e) => e.name === name)!.timeMs;
    expect(at('user.online')).toBeLessThanOrEqual(at('user.offline'));
    expect(at('room.occupied')).toBeLessThanOrEqual(at('room.vacated'));
  });

  it('retries a batch the receiver answered with 500', async () => {
    let refused = 0;
    receiver.answer = (body) =>
      body.events.some((e) => e.userId === 'carol') && refused++ === 0 ? 500 : 200;
    await open(a, 'carol');
    await receiver.waitDelivered('user.online', { userId: 'carol' });
    const attempts = receiver.posts
      .filter((p) => p.body.events.some((e) => e.userId === 'carol'))
      .map((p) => [p.status, p.body.events.find((e) => e.userId === 'carol')!.id]);
    expect(attempts).toEqual([
      [500, attempts[0]![1]],
      [200, attempts[0]![1]],
    ]);
    receiver.answer = () => 200;
    // Whichever replica sent them counted them.
    const total = async (metric: string): Promise<number> => {
      const texts = await Promise.all(
        [a, b].map((r) => fetch(`${r.url}/metrics`).then((m) => m.text())),
      );
      return texts
        .flatMap((text) => text.split('\n').filter((line) => line.startsWith(`${metric} `)))
        .reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
    };
    expect(await total('realtime_webhook_posts_failed_total')).toBeGreaterThanOrEqual(1);
    expect(await total('realtime_webhook_events_sent_total')).toBeGreaterThanOrEqual(5);
    expect(await total('realtime_webhook_events_dropped_total')).toBe(0);
  });

  it('delivers an event queued by a replica that is then killed with -9', async () => {
    const child = await ChildReplica.start({ id: 'hooks-child', natsUrl: nats.url, env });
    try {
      // The receiver refuses dave's event until the replica that queued it is dead.
      let childAlive = true;
      receiver.answer = (body) =>
        childAlive && body.events.some((e) => e.userId === 'dave') ? 503 : 200;
      await open(child, 'dave');
      await waitFor('a first attempt of dave’s event', () =>
        receiver.posts.some((p) => p.body.events.some((e) => e.userId === 'dave')),
      );
      await child.kill();
      childAlive = false;
      await receiver.waitDelivered('user.online', { userId: 'dave' });
      // The survivors then find the dead replica's user gone, and say so once.
      await receiver.waitDelivered('user.offline', { userId: 'dave' });
      expect(receiver.deliveredFor('user.online', { userId: 'dave' })).toHaveLength(1);
    } finally {
      await child.close();
      receiver.answer = () => 200;
    }
  });
});

describe('webhooks in embedded mode (no NATS)', () => {
  it('queues in memory and sends with the same sender', async () => {
    const receiver = new Receiver();
    const replica = await startReplica({
      WEBHOOK_URL: await receiver.listen(),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BATCH_MS: '50',
      PRESENCE_GRACE_MS: '100',
    });
    try {
      const client = await WsTestClient.open(replica.wsUrl, { token: tokenFor('erin') });
      await client.call('chat.join', { room: 'solo' });
      client.socket.close();
      await receiver.waitDelivered('room.vacated', { room: 'solo' });
      await receiver.waitDelivered('user.offline', { userId: 'erin' });
      expect(receiver.delivered().map((e) => e.name)).toEqual(
        expect.arrayContaining(['user.online', 'room.occupied']),
      );
      expect(receiver.posts.every((p) => p.signed)).toBe(true);
    } finally {
      await replica.close();
      await receiver.close();
    }
  });
});
