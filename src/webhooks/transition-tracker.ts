import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { HolderStore } from './holder-store';
import { WebhookEventName, type WebhookEvent } from './webhook-event';

export type HeldKind = 'user' | 'room';

const ON: Record<HeldKind, WebhookEventName> = {
  user: WebhookEventName.UserOnline,
  room: WebhookEventName.RoomOccupied,
};
const OFF: Record<HeldKind, WebhookEventName> = {
  user: WebhookEventName.UserOffline,
  room: WebhookEventName.RoomVacated,
};
/** After a failed store read or write (the broker away), try again this much later. */
const RETRY_MS = 1_000;

export interface TrackerOptions {
  /** This process run's instance id (the cluster membership's). */
  instance: string;
  /** How long a key stays held after its last local connection or member left. */
  graceMs: number;
  store: HolderStore;
  /** Stores the event for sending; `dedupeId` is the same if the same decision is reported again. */
  report(event: WebhookEvent, dedupeId: string): Promise<void>;
}

/**
 * Cluster-wide transitions of users (online/offline) and rooms (occupied/vacated). Each replica
 * counts its own connections and members per key and, when it starts or stops holding a key,
 * changes the key's holders in the shared store; the one change that makes the holders non-empty,
 * or empty, reports the transition. A key stays held for the grace period after its last local
 * one left, so a reconnect or a drain (gone here, back there) reports nothing.
 */
export class TransitionTracker {
  private readonly logger = new Logger(TransitionTracker.name);
  private readonly counts = new Map<string, number>();
  private readonly leaving = new Map<string, NodeJS.Timeout>();
  /** Store changes of one key run one after the other. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: TrackerOptions) {}

  add(kind: HeldKind, name: string): void {
    const key = keyOf(kind, name);
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count > 1) return;
    const timer = this.leaving.get(key);
    if (timer) {
      // Back within the grace period: still held, nothing to tell the store.
      clearTimeout(timer);
      this.leaving.delete(key);
      return;
    }
    this.reconcile(key);
  }

  remove(kind: HeldKind, name: string): void {
    const key = keyOf(kind, name);
    const count = (this.counts.get(key) ?? 1) - 1;
    if (count > 0) {
      this.counts.set(key, count);
      return;
    }
    this.counts.delete(key);
    const timer = setTimeout(() => {
      this.leaving.delete(key);
      this.reconcile(key);
    }, this.options.graceMs);
    timer.unref();
    this.leaving.set(key, timer);
  }

  /** Writes every key this instance holds again (after the broker was away, others may have dropped it). */
  reassert(): void {
    for (const key of this.counts.keys()) this.reconcile(key);
  }

  /** Removes every instance that is not in `live` (died, or said goodbye) from every key. */
  async forgetAllBut(live: ReadonlySet<string>): Promise<void> {
    const keys = await this.options.store.keys();
    await Promise.all(
      keys.map((key) =>
        this.serialized(key, () =>
          this.change(key, (holders) => {
            for (const holder of holders) if (!live.has(holder)) holders.delete(holder);
          }),
        ),
      ),
    );
  }

  close(): void {
    this.closed = true;
    for (const timer of [...this.leaving.values(), ...this.timers]) clearTimeout(timer);
  }

  /** Brings the store in line with whether this instance holds `key` now. */
  private reconcile(key: string): void {
    void this.serialized(key, () => {
      const held = this.counts.has(key) || this.leaving.has(key);
      const { instance } = this.options;
      return this.change(key, (holders) =>
        held ? holders.add(instance) : holders.delete(instance),
      );
    }).catch((error: unknown) => {
      this.logger.warn({ key, err: (error as Error).message, msg: 'holder update failed' });
      this.later(() => this.reconcile(key));
    });
  }

  private async change(key: string, change: (holders: Set<string>) => void): Promise<void> {
    const result = await this.options.store.update(key, change);
    if (!result) return;
    const [kind, name] = parseKey(key);
    let eventName: WebhookEventName | undefined;
    if (result.before === 0 && result.after > 0) eventName = ON[kind];
    if (result.before > 0 && result.after === 0) eventName = OFF[kind];
    if (!eventName) return;
    const event: WebhookEvent = {
      id: randomUUID(),
      name: eventName,
      timeMs: Date.now(),
      ...(kind === 'user' ? { userId: name } : { room: name }),
    };
    this.send(event, result.changeId);
  }

  /** The transition is decided: store it, retrying with the same dedupe id while that fails. */
  private send(event: WebhookEvent, dedupeId: string): void {
    this.options.report(event, dedupeId).catch((error: unknown) => {
      this.logger.warn({ event, err: (error as Error).message, msg: 'webhook enqueue failed' });
      this.later(() => this.send(event, dedupeId));
    });
  }

  private serialized(key: string, work: () => Promise<void>): Promise<void> {
    const run = (this.queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private later(retry: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      retry();
    }, RETRY_MS);
    timer.unref();
    this.timers.add(timer);
  }
}

/** Store keys: the kind, then the name in base64url (user ids may hold any character). */
function keyOf(kind: HeldKind, name: string): string {
  return `${kind}.${Buffer.from(name).toString('base64url')}`;
}

function parseKey(key: string): [HeldKind, string] {
  const [kind, encoded = ''] = key.split('.', 2);
  return [kind === 'room' ? 'room' : 'user', Buffer.from(encoded, 'base64url').toString()];
}
