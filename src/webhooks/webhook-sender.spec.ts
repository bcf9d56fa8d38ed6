import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { RETRY_WINDOW_MS } from './webhook-backoff';
import type { WebhookBody } from './webhook-event';
import type { QueuedItem } from './webhook-queue';
import { WebhookSender } from './webhook-sender';
import { verify } from './webhook-signature';

const SECRET = 'sender-spec-secret';

describe(WebhookSender.name, () => {
  let server: Server;
  let url: string;
  let status: number;
  let posts: Array<{ body: WebhookBody; signed: boolean }>;
  let registry: Registry;
  let sut: WebhookSender;

  /** An item as the queue hands it, recording how it was settled. */
  const item = (userId: string, storedAtMs = Date.now(), to = url) => {
    const settled = { done: 0, retries: [] as number[] };
    const queued: QueuedItem = {
      url: to,
      event: { id: `e-${userId}`, name: 'user.online', timeMs: 1, userId },
      storedAtMs,
      attempt: 1,
      done: () => settled.done++,
      retry: (delayMs) => settled.retries.push(delayMs),
    };
    return { queued, settled };
  };
  const counter = async (name: string) =>
    (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        const header = String(request.headers['webhook-signature']);
        posts.push({ body: JSON.parse(raw) as WebhookBody, signed: verify(SECRET, raw, header) });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    status = 200;
    posts = [];
    registry = new Registry();
    sut = new WebhookSender({ urls: [url], secret: SECRET, batchMs: 30 }, registry);
  });

  it('sends the items taken within a batch window as one signed POST', async () => {
    const one = item('u1');
    const two = item('u2');
    sut.take(one.queued);
    sut.take(two.queued);
    await sut.close();
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ signed: true, body: { id: expect.any(String) } });
    expect(posts[0]!.body.events.map((e) => e.userId)).toEqual(['u1', 'u2']);
    expect([one.settled, two.settled]).toEqual([
      { done: 1, retries: [] },
      { done: 1, retries: [] },
    ]);
    expect(await counter('realtime_webhook_events_sent_total')).toBe(2);
  });

  it('puts a refused batch back with a back-off, and drops what is 5 minutes old', async () => {
    status = 500;
    const fresh = item('fresh');
    const old = item('old', Date.now() - RETRY_WINDOW_MS);
    sut.take(fresh.queued);
    sut.take(old.queued);
    await sut.close();
    expect(fresh.settled).toEqual({ done: 0, retries: [expect.any(Number)] });
    expect(fresh.settled.retries[0]).toBeGreaterThanOrEqual(500);
    expect(old.settled).toEqual({ done: 1, retries: [] });
    expect(await counter('realtime_webhook_posts_failed_total')).toBe(1);
    expect(await counter('realtime_webhook_events_dropped_total')).toBe(1);
    expect(await counter('realtime_webhook_events_sent_total')).toBe(0);
  });

  it('never posts to a URL it was not configured with', async () => {
    const stranger = item('x', Date.now(), 'http://127.0.0.1:1/elsewhere');
    sut.take(stranger.queued);
    await sut.close();
    expect(posts).toEqual([]);
    expect(stranger.settled.done).toBe(1);
    expect(await counter('realtime_webhook_events_dropped_total')).toBe(1);
  });
});
