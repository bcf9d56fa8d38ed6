import type { KV, NatsConnection } from 'nats';
import { HolderStore, sameSet, type HolderChange } from './holder-store';

export const HOLDERS_BUCKET = 'WEBHOOK_HOLDERS';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Holders in a JetStream KV bucket, one key per user or room, written only when an instance's
 * first local connection (or member) arrives or its last one has been gone for the grace period:
 * not per connection, and never on the path of a message.
 */
export class JetStreamHolderStore extends HolderStore {
  private kv?: Promise<KV>;

  /** `replicas`: copies of the bucket on the NATS nodes (`HISTORY_REPLICAS`). */
  constructor(
    private readonly connect: () => Promise<NatsConnection>,
    private readonly replicas = 1,
  ) {
    super();
  }

  async update(
    key: string,
    change: (holders: Set<string>) => void,
  ): Promise<HolderChange | undefined> {
    const kv = await this.bucket();
    for (;;) {
      const entry = await kv.get(key);
      const current = new Set<string>(entry?.operation === 'PUT' ? parse(entry.value) : []);
      const next = new Set(current);
      change(next);
      if (sameSet(current, next)) return undefined;
      const previous = entry?.revision ?? 0;
      try {
        if (next.size === 0) await kv.delete(key, { previousSeq: previous });
        else if (!entry) await kv.create(key, encoder.encode(JSON.stringify([...next])));
        else await kv.update(key, encoder.encode(JSON.stringify([...next])), previous);
      } catch (error) {
        // Another instance changed the key since we read it: read again.
        if (/wrong last sequence|key exists/i.test((error as Error).message)) continue;
        throw error;
      }
      // Each revision is replaced once: the key and the replaced revision name this change.
      return { before: current.size, after: next.size, changeId: `${key}.${previous}` };
    }
  }

  async keys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await (await this.bucket()).keys()) keys.push(key);
    return keys;
  }

  private bucket(): Promise<KV> {
    this.kv ??= this.connect()
      .then((nc) =>
        nc.jetstream().views.kv(HOLDERS_BUCKET, { history: 1, replicas: this.replicas }),
      )
      .catch((error: unknown) => {
        this.kv = undefined;
        throw error;
      });
    return this.kv;
  }
}

function parse(value: Uint8Array): string[] {
  try {
    const holders: unknown = JSON.parse(decoder.decode(value));
    return Array.isArray(holders) ? holders.filter((h): h is string => typeof h === 'string') : [];
  } catch {
    return [];
  }
}
