import { Logger } from '@nestjs/common';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { connect, type NatsConnection } from 'nats';
import { JetStreamHolderStore } from './jetstream.holder-store';
import { JetStreamWebhookQueue } from './jetstream.webhook-queue';
import type { WebhookItem } from './webhook-event';
import type { QueuedItem } from './webhook-queue';

Logger.overrideLogger(['error']);

const item = (id: string): WebhookItem => ({
  url: 'http://127.0.0.1:1/in',
  event: { id, name: 'user.online', timeMs: 1, userId: id },
});

describe('webhooks on JetStream', () => {
  let server: NatsServerHandle;
  const connections: NatsConnection[] = [];
  const open = async () => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    server = await startNatsServer();
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await server.stop();
  });

  describe(JetStreamHolderStore.name, () => {
    it('lets exactly one of many concurrent writers see each empty ↔ held change', async () => {
      const stores = await Promise.all(
        [1, 2, 3, 4].map(async () => {
          const nc = await open();
          return new JetStreamHolderStore(() => Promise.resolve(nc));
        }),
      );
      const add = await Promise.all(
        stores.map((store, i) => store.update('user.YQ', (h) => h.add(`i${i}`))),
      );
      expect(add.filter((c) => c?.before === 0)).toHaveLength(1);
      expect(add.map((c) => c?.after).sort()).toEqual([1, 2, 3, 4]);
      const remove = await Promise.all(
        stores.map((store, i) => store.update('user.YQ', (h) => h.delete(`i${i}`))),
      );
      expect(remove.filter((c) => c?.after === 0)).toHaveLength(1);
      const ids = [...add, ...remove].map((c) => c?.changeId);
      expect(new Set(ids).size).toBe(8);
      expect(await stores[0]!.keys()).toEqual([]);
    });
  });

  describe(JetStreamWebhookQueue.name, () => {
    it('stores a repeated decision once, and hands an item put back to a consumer again', async () => {
      const nc = await open();
      const producer = new JetStreamWebhookQueue(() => Promise.resolve(nc));
      const consumer = new JetStreamWebhookQueue(() => Promise.resolve(nc));
      await producer.enqueue([item('e1')], 'decision-1');
      await producer.enqueue([item('e1')], 'decision-1');
      await producer.enqueue([item('e2')], 'decision-2');
      const seen: QueuedItem[] = [];
      const twice = new Promise<void>((resolve) => {
        void consumer.consume((queued) => {
          seen.push(queued);
          if (queued.event.id === 'e1' && queued.attempt === 1) queued.retry(50);
          else queued.done();
          if (seen.length === 3) resolve();
        });
      });
      await twice;
      await consumer.close();
      expect(seen.map((q) => [q.event.id, q.attempt]).sort()).toEqual([
        ['e1', 1],
        ['e1', 2],
        ['e2', 1],
      ]);
      expect(seen[0]!.storedAtMs).toBeGreaterThan(Date.now() - 60_000);
    });
  });
});
